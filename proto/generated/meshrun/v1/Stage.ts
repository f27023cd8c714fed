// Original file: proto/meshrun.proto

import type { Attempt as _meshrun_v1_Attempt, Attempt__Output as _meshrun_v1_Attempt__Output } from '../../meshrun/v1/Attempt.js';

export interface Stage {
  'name'?: (string);
  'state'?: (string);
  'node'?: (string);
  'attempt'?: (number);
  'exitCode'?: (number);
  'reason'?: (string);
  'attempts'?: (_meshrun_v1_Attempt)[];
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
  '_exitCode'?: "exitCode";
}
