// Original file: proto/meshrun.proto

import type { MeshEdge as _meshrun_v1_MeshEdge, MeshEdge__Output as _meshrun_v1_MeshEdge__Output } from '../../meshrun/v1/MeshEdge.js';
import type { Long } from '@grpc/proto-loader';

export interface MeshMember {
  'name'?: (string);
  'kind'?: (string);
  'address'?: (string);
  'publicKey'?: (string);
  'endpoint'?: (string);
  'state'?: (string);
  'desiredVersion'?: (number | string | Long);
  'appliedVersion'?: (number | string | Long);
  'inSync'?: (boolean);
  'desiredHash'?: (string);
  'liveHash'?: (string);
  'statusAgeMs'?: (number | string | Long);
  'rotating'?: (boolean);
  'error'?: (string);
  'edges'?: (_meshrun_v1_MeshEdge)[];
}

export interface MeshMember__Output {
  'name': (string);
  'kind': (string);
  'address': (string);
  'publicKey': (string);
  'endpoint': (string);
  'state': (string);
  'desiredVersion': (number);
  'appliedVersion': (number);
  'inSync': (boolean);
  'desiredHash': (string);
  'liveHash': (string);
  'statusAgeMs': (number);
  'rotating': (boolean);
  'error': (string);
  'edges': (_meshrun_v1_MeshEdge__Output)[];
}
