// Original file: proto/meshrun.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateScheduleRequest {
  'name'?: (string);
  'cron'?: (string);
  'timeZone'?: (string);
  'specJson'?: (string);
  'workspace'?: (string);
  'overlap'?: (string);
  'catchUp'?: (string);
  'catchUpWindowMs'?: (number | string | Long);
}

export interface CreateScheduleRequest__Output {
  'name': (string);
  'cron': (string);
  'timeZone': (string);
  'specJson': (string);
  'workspace': (string);
  'overlap': (string);
  'catchUp': (string);
  'catchUpWindowMs': (number);
}
