// Original file: proto/meshrun.proto


export interface ScheduleRef {
  'name'?: (string);
}

export interface ScheduleRef__Output {
  'name': (string);
}
