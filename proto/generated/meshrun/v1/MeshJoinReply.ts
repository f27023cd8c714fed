// Original file: proto/meshrun.proto

import type { MeshPeer as _meshrun_v1_MeshPeer, MeshPeer__Output as _meshrun_v1_MeshPeer__Output } from '../../meshrun/v1/MeshPeer.js';

export interface MeshJoinReply {
  'client'?: (string);
  'address'?: (string);
  'prefixLength'?: (number);
  'cidr'?: (string);
  'peers'?: (_meshrun_v1_MeshPeer)[];
  'nodesAcked'?: (number);
  'nodesPending'?: (string)[];
}

export interface MeshJoinReply__Output {
  'client': (string);
  'address': (string);
  'prefixLength': (number);
  'cidr': (string);
  'peers': (_meshrun_v1_MeshPeer__Output)[];
  'nodesAcked': (number);
  'nodesPending': (string)[];
}
