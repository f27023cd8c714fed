// Original file: proto/meshrun.proto

import type { Failure as _meshrun_v1_Failure, Failure__Output as _meshrun_v1_Failure__Output } from '../../meshrun/v1/Failure.js';
import type { Long } from '@grpc/proto-loader';

export interface Attempt {
  'attempt'?: (number);
  'node'?: (string);
  'state'?: (string);
  'exitCode'?: (number);
  'reason'?: (string);
  'assignedAtMs'?: (number | string | Long);
  'startedAtMs'?: (number | string | Long);
  'endedAtMs'?: (number | string | Long);
  'staleResult'?: (string);
  'failures'?: (_meshrun_v1_Failure)[];
  'artifacts'?: (string)[];
  'run'?: (number);
  'tryNumber'?: (number);
  '_exitCode'?: "exitCode";
}

export interface Attempt__Output {
  'attempt': (number);
  'node': (string);
  'state': (string);
  'exitCode'?: (number);
  'reason': (string);
  'assignedAtMs': (number);
  'startedAtMs': (number);
  'endedAtMs': (number);
  'staleResult': (string);
  'failures': (_meshrun_v1_Failure__Output)[];
  'artifacts': (string)[];
  'run': (number);
  'tryNumber': (number);
  '_exitCode'?: "exitCode";
}
