// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface Node {
  'name'?: (string);
  'labels'?: ({[key: string]: string});
  'state'?: (string);
  'lastSeenMs'?: (number | string | Long);
  'slots'?: (number);
  'running'?: (number);
  'standby'?: (boolean);
  'draining'?: (boolean);
}

export interface Node__Output {
  'name': (string);
  'labels': ({[key: string]: string});
  'state': (string);
  'lastSeenMs': (number);
  'slots': (number);
  'running': (number);
  'standby': (boolean);
  'draining': (boolean);
}
