// Original file: proto/meshrun.proto


export interface MeshJoinRequest {
  'client'?: (string);
  'publicKey'?: (string);
  'endpoint'?: (string);
}

export interface MeshJoinRequest__Output {
  'client': (string);
  'publicKey': (string);
  'endpoint': (string);
}
