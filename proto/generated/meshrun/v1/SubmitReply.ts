// Original file: proto/meshrun.proto

import type { Job as _meshrun_v1_Job, Job__Output as _meshrun_v1_Job__Output } from '../../meshrun/v1/Job.js';

export interface SubmitReply {
  'job'?: (_meshrun_v1_Job | null);
  'created'?: (boolean);
}

export interface SubmitReply__Output {
  'job': (_meshrun_v1_Job__Output | null);
  'created': (boolean);
}
