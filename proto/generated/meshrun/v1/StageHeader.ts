// Original file: proto/meshrun.proto


export interface StageHeader {
  'stage'?: (string);
  'attempt'?: (number);
  'node'?: (string);
  'run'?: (number);
  'tryNumber'?: (number);
  'fanout'?: (boolean);
}

export interface StageHeader__Output {
  'stage': (string);
  'attempt': (number);
  'node': (string);
  'run': (number);
  'tryNumber': (number);
  'fanout': (boolean);
}
