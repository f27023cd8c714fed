// Original file: proto/meshrun.proto


export interface StageHeader {
  'stage'?: (string);
  'attempt'?: (number);
  'node'?: (string);
}

export interface StageHeader__Output {
  'stage': (string);
  'attempt': (number);
  'node': (string);
}
