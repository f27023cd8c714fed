// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface AuditEntry {
  'atMs'?: (number | string | Long);
  'user'?: (string);
  'role'?: (string);
  'method'?: (string);
  'target'?: (string);
  'peer'?: (string);
  'outcome'?: (string);
  'detail'?: (string);
}

export interface AuditEntry__Output {
  'atMs': (number);
  'user': (string);
  'role': (string);
  'method': (string);
  'target': (string);
  'peer': (string);
  'outcome': (string);
  'detail': (string);
}
