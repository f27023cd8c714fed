// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface ScheduleFiring {
  'tickMs'?: (number | string | Long);
  'atMs'?: (number | string | Long);
  'outcome'?: (string);
  'job'?: (string);
  'jobState'?: (string);
  'jobExitCode'?: (number);
  'detail'?: (string);
  '_jobExitCode'?: "jobExitCode";
}

export interface ScheduleFiring__Output {
  'tickMs': (number);
  'atMs': (number);
  'outcome': (string);
  'job': (string);
  'jobState': (string);
  'jobExitCode'?: (number);
  'detail': (string);
  '_jobExitCode'?: "jobExitCode";
}
