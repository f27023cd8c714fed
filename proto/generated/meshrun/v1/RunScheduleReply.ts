// Original file: proto/meshrun.proto

import type { Schedule as _meshrun_v1_Schedule, Schedule__Output as _meshrun_v1_Schedule__Output } from '../../meshrun/v1/Schedule.js';
import type { Job as _meshrun_v1_Job, Job__Output as _meshrun_v1_Job__Output } from '../../meshrun/v1/Job.js';

export interface RunScheduleReply {
  'schedule'?: (_meshrun_v1_Schedule | null);
  'job'?: (_meshrun_v1_Job | null);
  'created'?: (boolean);
}

export interface RunScheduleReply__Output {
  'schedule': (_meshrun_v1_Schedule__Output | null);
  'job': (_meshrun_v1_Job__Output | null);
  'created': (boolean);
}
