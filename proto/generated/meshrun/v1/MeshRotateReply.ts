// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface MeshRotateReply {
  'node'?: (string);
  'previousPublicKey'?: (string);
  'publicKey'?: (string);
  'peersAcked'?: (number);
  'peersPending'?: (string)[];
  'tookMs'?: (number | string | Long);
}

export interface MeshRotateReply__Output {
  'node': (string);
  'previousPublicKey': (string);
  'publicKey': (string);
  'peersAcked': (number);
  'peersPending': (string)[];
  'tookMs': (number);
}
