// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface Handoff {
  'fromStage'?: (string);
  'fromAttempt'?: (number);
  'fromNode'?: (string);
  'toStage'?: (string);
  'toAttempt'?: (number);
  'toNode'?: (string);
  'toRunDir'?: (string);
  'toLog'?: (string);
  'atMs'?: (number | string | Long);
  'acked'?: (boolean);
}

export interface Handoff__Output {
  'fromStage': (string);
  'fromAttempt': (number);
  'fromNode': (string);
  'toStage': (string);
  'toAttempt': (number);
  'toNode': (string);
  'toRunDir': (string);
  'toLog': (string);
  'atMs': (number);
  'acked': (boolean);
}
