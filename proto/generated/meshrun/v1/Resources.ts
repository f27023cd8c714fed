// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface Resources {
  'cpuMilli'?: (number | string | Long);
  'memoryBytes'?: (number | string | Long);
}

export interface Resources__Output {
  'cpuMilli': (number);
  'memoryBytes': (number);
}
