// Original file: proto/meshrun.proto


export interface ListJobsRequest {
  'limit'?: (number);
  'withActive'?: (boolean);
}

export interface ListJobsRequest__Output {
  'limit': (number);
  'withActive': (boolean);
}
