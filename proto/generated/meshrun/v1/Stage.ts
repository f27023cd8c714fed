// Original file: proto/meshrun.proto

import type { Attempt as _meshrun_v1_Attempt, Attempt__Output as _meshrun_v1_Attempt__Output } from '../../meshrun/v1/Attempt.js';
import type { Resources as _meshrun_v1_Resources, Resources__Output as _meshrun_v1_Resources__Output } from '../../meshrun/v1/Resources.js';
import type { NodeShare as _meshrun_v1_NodeShare, NodeShare__Output as _meshrun_v1_NodeShare__Output } from '../../meshrun/v1/NodeShare.js';
import type { Long } from '@grpc/proto-loader';

export interface Stage {
  'name'?: (string);
  'state'?: (string);
  'node'?: (string);
  'attempt'?: (number);
  'exitCode'?: (number);
  'reason'?: (string);
  'attempts'?: (_meshrun_v1_Attempt)[];
  'request'?: (_meshrun_v1_Resources | null);
  'nodes'?: (_meshrun_v1_NodeShare)[];
  'retryAttempts'?: (number);
  'retryAtMs'?: (number | string | Long);
  '_exitCode'?: "exitCode";
}

export interface Stage__Output {
  'name': (string);
  'state': (string);
  'node': (string);
  'attempt': (number);
  'exitCode'?: (number);
  'reason': (string);
  'attempts': (_meshrun_v1_Attempt__Output)[];
  'request': (_meshrun_v1_Resources__Output | null);
  'nodes': (_meshrun_v1_NodeShare__Output)[];
  'retryAttempts': (number);
  'retryAtMs': (number);
  '_exitCode'?: "exitCode";
}
