// Original file: proto/meshrun.proto

import type { MeshMember as _meshrun_v1_MeshMember, MeshMember__Output as _meshrun_v1_MeshMember__Output } from '../../meshrun/v1/MeshMember.js';

export interface MeshStatusReply {
  'cidr'?: (string);
  'epoch'?: (string);
  'keepaliveS'?: (number);
  'members'?: (_meshrun_v1_MeshMember)[];
  'revokedKeys'?: (number);
}

export interface MeshStatusReply__Output {
  'cidr': (string);
  'epoch': (string);
  'keepaliveS': (number);
  'members': (_meshrun_v1_MeshMember__Output)[];
  'revokedKeys': (number);
}
