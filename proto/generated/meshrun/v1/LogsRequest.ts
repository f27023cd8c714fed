// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface LogsRequest {
  'id'?: (string);
  'follow'?: (boolean);
  'have'?: ({[key: string]: number | string | Long});
}

export interface LogsRequest__Output {
  'id': (string);
  'follow': (boolean);
  'have': ({[key: string]: number});
}
