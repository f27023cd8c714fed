// Original file: proto/meshrun.proto


export interface ListUsersRequest {
}

export interface ListUsersRequest__Output {
}
