// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface LogGap {
  'stage'?: (string);
  'attempt'?: (number);
  'from'?: (number | string | Long);
  'to'?: (number | string | Long);
  'node'?: (string);
}

export interface LogGap__Output {
  'stage': (string);
  'attempt': (number);
  'from': (number);
  'to': (number);
  'node': (string);
}
