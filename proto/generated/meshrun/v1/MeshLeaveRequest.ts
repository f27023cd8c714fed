// Original file: proto/meshrun.proto


export interface MeshLeaveRequest {
  'client'?: (string);
}

export interface MeshLeaveRequest__Output {
  'client': (string);
}
