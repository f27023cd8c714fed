// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface LogData {
  'stage'?: (string);
  'attempt'?: (number);
  'offset'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'node'?: (string);
}

export interface LogData__Output {
  'stage': (string);
  'attempt': (number);
  'offset': (number);
  'data': (Buffer);
  'node': (string);
}
