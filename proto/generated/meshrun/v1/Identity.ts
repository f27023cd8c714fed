// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface Identity {
  'user'?: (string);
  'role'?: (string);
  'peer'?: (string);
  'certNotAfterMs'?: (number | string | Long);
}

export interface Identity__Output {
  'user': (string);
  'role': (string);
  'peer': (string);
  'certNotAfterMs': (number);
}
