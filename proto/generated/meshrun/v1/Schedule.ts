// Original file: proto/meshrun.proto

import type { ScheduleFiring as _meshrun_v1_ScheduleFiring, ScheduleFiring__Output as _meshrun_v1_ScheduleFiring__Output } from '../../meshrun/v1/ScheduleFiring.js';
import type { Long } from '@grpc/proto-loader';

export interface Schedule {
  'name'?: (string);
  'cron'?: (string);
  'timeZone'?: (string);
  'jobName'?: (string);
  'workspace'?: (string);
  'overlap'?: (string);
  'catchUp'?: (string);
  'catchUpWindowMs'?: (number | string | Long);
  'paused'?: (boolean);
  'createdAtMs'?: (number | string | Long);
  'createdBy'?: (string);
  'nextRunMs'?: (number | string | Long);
  'lastRun'?: (_meshrun_v1_ScheduleFiring | null);
  'lastDecision'?: (_meshrun_v1_ScheduleFiring | null);
  'queuedTickMs'?: (number | string | Long);
  'history'?: (_meshrun_v1_ScheduleFiring)[];
}

export interface Schedule__Output {
  'name': (string);
  'cron': (string);
  'timeZone': (string);
  'jobName': (string);
  'workspace': (string);
  'overlap': (string);
  'catchUp': (string);
  'catchUpWindowMs': (number);
  'paused': (boolean);
  'createdAtMs': (number);
  'createdBy': (string);
  'nextRunMs': (number);
  'lastRun': (_meshrun_v1_ScheduleFiring__Output | null);
  'lastDecision': (_meshrun_v1_ScheduleFiring__Output | null);
  'queuedTickMs': (number);
  'history': (_meshrun_v1_ScheduleFiring__Output)[];
}
