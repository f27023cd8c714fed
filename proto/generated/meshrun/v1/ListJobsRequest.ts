// Original file: proto/meshrun.proto


export interface ListJobsRequest {
  'limit'?: (number);
}

export interface ListJobsRequest__Output {
  'limit': (number);
}
