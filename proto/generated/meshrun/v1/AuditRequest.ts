// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface AuditRequest {
  'sinceMs'?: (number | string | Long);
  'limit'?: (number);
}

export interface AuditRequest__Output {
  'sinceMs': (number);
  'limit': (number);
}
