// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface AddUserReply {
  'name'?: (string);
  'role'?: (string);
  'certPem'?: (string);
  'caPem'?: (string);
  'serial'?: (string);
  'notAfterMs'?: (number | string | Long);
}

export interface AddUserReply__Output {
  'name': (string);
  'role': (string);
  'certPem': (string);
  'caPem': (string);
  'serial': (string);
  'notAfterMs': (number);
}
