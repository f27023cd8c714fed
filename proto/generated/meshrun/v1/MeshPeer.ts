// Original file: proto/meshrun.proto


export interface MeshPeer {
  'name'?: (string);
  'kind'?: (string);
  'publicKey'?: (string);
  'endpoint'?: (string);
  'allowedIps'?: (string)[];
  'persistentKeepalive'?: (number);
}

export interface MeshPeer__Output {
  'name': (string);
  'kind': (string);
  'publicKey': (string);
  'endpoint': (string);
  'allowedIps': (string)[];
  'persistentKeepalive': (number);
}
