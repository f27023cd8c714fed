// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface AddUserRequest {
  'name'?: (string);
  'role'?: (string);
  'publicKeyPem'?: (string);
  'validMs'?: (number | string | Long);
}

export interface AddUserRequest__Output {
  'name': (string);
  'role': (string);
  'publicKeyPem': (string);
  'validMs': (number);
}
