// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeRemoveReply {
  'name'?: (string);
  'meshMember'?: (boolean);
  'releasedAddress'?: (string);
  'peersAcked'?: (number);
  'peersPending'?: (string)[];
  'tookMs'?: (number | string | Long);
}

export interface NodeRemoveReply__Output {
  'name': (string);
  'meshMember': (boolean);
  'releasedAddress': (string);
  'peersAcked': (number);
  'peersPending': (string)[];
  'tookMs': (number);
}
