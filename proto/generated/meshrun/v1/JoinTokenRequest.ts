// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface JoinTokenRequest {
  'labels'?: ({[key: string]: string});
  'ttlMs'?: (number | string | Long);
  'uses'?: (number);
}

export interface JoinTokenRequest__Output {
  'labels': ({[key: string]: string});
  'ttlMs': (number);
  'uses': (number);
}
