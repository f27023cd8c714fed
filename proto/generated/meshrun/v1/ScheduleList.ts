// Original file: proto/meshrun.proto

import type { Schedule as _meshrun_v1_Schedule, Schedule__Output as _meshrun_v1_Schedule__Output } from '../../meshrun/v1/Schedule.js';

export interface ScheduleList {
  'schedules'?: (_meshrun_v1_Schedule)[];
}

export interface ScheduleList__Output {
  'schedules': (_meshrun_v1_Schedule__Output)[];
}
