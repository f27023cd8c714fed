// Original file: proto/meshrun.proto


export interface UserRef {
  'name'?: (string);
}

export interface UserRef__Output {
  'name': (string);
}
