// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeShare {
  'node'?: (string);
  'state'?: (string);
  'attempt'?: (number);
  'exitCode'?: (number);
  'startedAtMs'?: (number | string | Long);
  'endedAtMs'?: (number | string | Long);
  'reason'?: (string);
  '_exitCode'?: "exitCode";
}

export interface NodeShare__Output {
  'node': (string);
  'state': (string);
  'attempt': (number);
  'exitCode'?: (number);
  'startedAtMs': (number);
  'endedAtMs': (number);
  'reason': (string);
  '_exitCode'?: "exitCode";
}
