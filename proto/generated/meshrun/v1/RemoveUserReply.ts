// Original file: proto/meshrun.proto


export interface RemoveUserReply {
  'name'?: (string);
  'certsRevoked'?: (number);
}

export interface RemoveUserReply__Output {
  'name': (string);
  'certsRevoked': (number);
}
