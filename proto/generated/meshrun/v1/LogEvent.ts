// Original file: proto/meshrun.proto

import type { StageHeader as _meshrun_v1_StageHeader, StageHeader__Output as _meshrun_v1_StageHeader__Output } from '../../meshrun/v1/StageHeader.js';
import type { LogData as _meshrun_v1_LogData, LogData__Output as _meshrun_v1_LogData__Output } from '../../meshrun/v1/LogData.js';
import type { Job as _meshrun_v1_Job, Job__Output as _meshrun_v1_Job__Output } from '../../meshrun/v1/Job.js';
import type { PlaybookEvent as _meshrun_v1_PlaybookEvent, PlaybookEvent__Output as _meshrun_v1_PlaybookEvent__Output } from '../../meshrun/v1/PlaybookEvent.js';
import type { LogGap as _meshrun_v1_LogGap, LogGap__Output as _meshrun_v1_LogGap__Output } from '../../meshrun/v1/LogGap.js';

export interface LogEvent {
  'header'?: (_meshrun_v1_StageHeader | null);
  'data'?: (_meshrun_v1_LogData | null);
  'end'?: (_meshrun_v1_Job | null);
  'playbook'?: (_meshrun_v1_PlaybookEvent | null);
  'gap'?: (_meshrun_v1_LogGap | null);
  'event'?: "header"|"data"|"end"|"playbook"|"gap";
}

export interface LogEvent__Output {
  'header'?: (_meshrun_v1_StageHeader__Output | null);
  'data'?: (_meshrun_v1_LogData__Output | null);
  'end'?: (_meshrun_v1_Job__Output | null);
  'playbook'?: (_meshrun_v1_PlaybookEvent__Output | null);
  'gap'?: (_meshrun_v1_LogGap__Output | null);
  'event'?: "header"|"data"|"end"|"playbook"|"gap";
}
