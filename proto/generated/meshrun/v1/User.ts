// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface User {
  'name'?: (string);
  'role'?: (string);
  'createdAtMs'?: (number | string | Long);
  'createdBy'?: (string);
  'removedAtMs'?: (number | string | Long);
  'certs'?: (number);
  'notAfterMs'?: (number | string | Long);
}

export interface User__Output {
  'name': (string);
  'role': (string);
  'createdAtMs': (number);
  'createdBy': (string);
  'removedAtMs': (number);
  'certs': (number);
  'notAfterMs': (number);
}
