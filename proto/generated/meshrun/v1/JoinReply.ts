// Original file: proto/meshrun.proto


export interface JoinReply {
  'jwt'?: (string);
  'caPem'?: (string);
  'labels'?: ({[key: string]: string});
}

export interface JoinReply__Output {
  'jwt': (string);
  'caPem': (string);
  'labels': ({[key: string]: string});
}
