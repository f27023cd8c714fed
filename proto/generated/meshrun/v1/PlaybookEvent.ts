// Original file: proto/meshrun.proto


export interface PlaybookEvent {
  'stage'?: (string);
  'attempt'?: (number);
  'json'?: (string);
}

export interface PlaybookEvent__Output {
  'stage': (string);
  'attempt': (number);
  'json': (string);
}
