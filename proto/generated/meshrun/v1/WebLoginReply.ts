// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface WebLoginReply {
  'token'?: (string);
  'expiresAtMs'?: (number | string | Long);
  'webPort'?: (number);
  'user'?: (string);
  'role'?: (string);
}

export interface WebLoginReply__Output {
  'token': (string);
  'expiresAtMs': (number);
  'webPort': (number);
  'user': (string);
  'role': (string);
}
