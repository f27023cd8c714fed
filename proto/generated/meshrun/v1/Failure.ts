// Original file: proto/meshrun.proto


export interface Failure {
  'host'?: (string);
  'task'?: (string);
  'msg'?: (string);
}

export interface Failure__Output {
  'host': (string);
  'task': (string);
  'msg': (string);
}
