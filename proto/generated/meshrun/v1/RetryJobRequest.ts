// Original file: proto/meshrun.proto


export interface RetryJobRequest {
  'id'?: (string);
  'from'?: (string);
  'secrets'?: ({[key: string]: string});
}

export interface RetryJobRequest__Output {
  'id': (string);
  'from': (string);
  'secrets': ({[key: string]: string});
}
