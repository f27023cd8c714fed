// Original file: proto/meshrun.proto

import type { Stage as _meshrun_v1_Stage, Stage__Output as _meshrun_v1_Stage__Output } from '../../meshrun/v1/Stage.js';
import type { Handoff as _meshrun_v1_Handoff, Handoff__Output as _meshrun_v1_Handoff__Output } from '../../meshrun/v1/Handoff.js';
import type { JobRun as _meshrun_v1_JobRun, JobRun__Output as _meshrun_v1_JobRun__Output } from '../../meshrun/v1/JobRun.js';
import type { Long } from '@grpc/proto-loader';

export interface Job {
  'id'?: (string);
  'name'?: (string);
  'state'?: (string);
  'exitCode'?: (number);
  'reason'?: (string);
  'stages'?: (_meshrun_v1_Stage)[];
  'submittedAtMs'?: (number | string | Long);
  'startedAtMs'?: (number | string | Long);
  'endedAtMs'?: (number | string | Long);
  'authoritativeNode'?: (string);
  'handoffs'?: (_meshrun_v1_Handoff)[];
  'workspace'?: (string);
  'schedule'?: (string);
  'scheduleTickMs'?: (number | string | Long);
  'run'?: (number);
  'runs'?: (_meshrun_v1_JobRun)[];
  '_exitCode'?: "exitCode";
}

export interface Job__Output {
  'id': (string);
  'name': (string);
  'state': (string);
  'exitCode'?: (number);
  'reason': (string);
  'stages': (_meshrun_v1_Stage__Output)[];
  'submittedAtMs': (number);
  'startedAtMs': (number);
  'endedAtMs': (number);
  'authoritativeNode': (string);
  'handoffs': (_meshrun_v1_Handoff__Output)[];
  'workspace': (string);
  'schedule': (string);
  'scheduleTickMs': (number);
  'run': (number);
  'runs': (_meshrun_v1_JobRun__Output)[];
  '_exitCode'?: "exitCode";
}
