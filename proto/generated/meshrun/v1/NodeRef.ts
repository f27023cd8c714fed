// Original file: proto/meshrun.proto


export interface NodeRef {
  'name'?: (string);
}

export interface NodeRef__Output {
  'name': (string);
}
