// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface BlobRef {
  'sha256'?: (string);
  'size'?: (number | string | Long);
  'existed'?: (boolean);
}

export interface BlobRef__Output {
  'sha256': (string);
  'size': (number);
  'existed': (boolean);
}
