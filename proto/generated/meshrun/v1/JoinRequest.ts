// Original file: proto/meshrun.proto


export interface JoinRequest {
  'token'?: (string);
  'node'?: (string);
  'publicKey'?: (string);
}

export interface JoinRequest__Output {
  'token': (string);
  'node': (string);
  'publicKey': (string);
}
