// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface JobRun {
  'run'?: (number);
  'atMs'?: (number | string | Long);
  'by'?: (string);
  'from'?: (string);
  'rerun'?: (string)[];
  'state'?: (string);
  'exitCode'?: (number);
  'reason'?: (string);
  'endedAtMs'?: (number | string | Long);
  '_exitCode'?: "exitCode";
}

export interface JobRun__Output {
  'run': (number);
  'atMs': (number);
  'by': (string);
  'from': (string);
  'rerun': (string)[];
  'state': (string);
  'exitCode'?: (number);
  'reason': (string);
  'endedAtMs': (number);
  '_exitCode'?: "exitCode";
}
