// Original file: proto/meshrun.proto


export interface SubmitRequest {
  'id'?: (string);
  'specJson'?: (string);
  'workspace'?: (string);
  'secrets'?: ({[key: string]: string});
}

export interface SubmitRequest__Output {
  'id': (string);
  'specJson': (string);
  'workspace': (string);
  'secrets': ({[key: string]: string});
}
