// Original file: proto/meshrun.proto

import type { Resources as _meshrun_v1_Resources, Resources__Output as _meshrun_v1_Resources__Output } from '../../meshrun/v1/Resources.js';
import type { Long } from '@grpc/proto-loader';

export interface Node {
  'name'?: (string);
  'labels'?: ({[key: string]: string});
  'state'?: (string);
  'lastSeenMs'?: (number | string | Long);
  'slots'?: (number);
  'running'?: (number);
  'standby'?: (boolean);
  'draining'?: (boolean);
  'capacity'?: (_meshrun_v1_Resources | null);
  'allocatable'?: (_meshrun_v1_Resources | null);
  'allocated'?: (_meshrun_v1_Resources | null);
}

export interface Node__Output {
  'name': (string);
  'labels': ({[key: string]: string});
  'state': (string);
  'lastSeenMs': (number);
  'slots': (number);
  'running': (number);
  'standby': (boolean);
  'draining': (boolean);
  'capacity': (_meshrun_v1_Resources__Output | null);
  'allocatable': (_meshrun_v1_Resources__Output | null);
  'allocated': (_meshrun_v1_Resources__Output | null);
}
