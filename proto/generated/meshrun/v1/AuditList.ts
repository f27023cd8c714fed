// Original file: proto/meshrun.proto

import type { AuditEntry as _meshrun_v1_AuditEntry, AuditEntry__Output as _meshrun_v1_AuditEntry__Output } from '../../meshrun/v1/AuditEntry.js';

export interface AuditList {
  'entries'?: (_meshrun_v1_AuditEntry)[];
}

export interface AuditList__Output {
  'entries': (_meshrun_v1_AuditEntry__Output)[];
}
