// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface JoinTokenReply {
  'token'?: (string);
  'id'?: (string);
  'expiresAtMs'?: (number | string | Long);
  'uses'?: (number);
}

export interface JoinTokenReply__Output {
  'token': (string);
  'id': (string);
  'expiresAtMs': (number);
  'uses': (number);
}
