// Original file: proto/meshrun.proto

import type { Job as _meshrun_v1_Job, Job__Output as _meshrun_v1_Job__Output } from '../../meshrun/v1/Job.js';

export interface JobList {
  'jobs'?: (_meshrun_v1_Job)[];
  'more'?: (boolean);
}

export interface JobList__Output {
  'jobs': (_meshrun_v1_Job__Output)[];
  'more': (boolean);
}
