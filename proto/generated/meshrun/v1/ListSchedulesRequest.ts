// Original file: proto/meshrun.proto


export interface ListSchedulesRequest {
}

export interface ListSchedulesRequest__Output {
}
