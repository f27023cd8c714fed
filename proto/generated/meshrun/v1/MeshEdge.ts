// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface MeshEdge {
  'peer'?: (string);
  'peerKind'?: (string);
  'publicKey'?: (string);
  'endpoint'?: (string);
  'handshakeAgeMs'?: (number | string | Long);
  'rxBytes'?: (number | string | Long);
  'txBytes'?: (number | string | Long);
  'silentMs'?: (number | string | Long);
  'health'?: (string);
}

export interface MeshEdge__Output {
  'peer': (string);
  'peerKind': (string);
  'publicKey': (string);
  'endpoint': (string);
  'handshakeAgeMs': (number);
  'rxBytes': (number);
  'txBytes': (number);
  'silentMs': (number);
  'health': (string);
}
