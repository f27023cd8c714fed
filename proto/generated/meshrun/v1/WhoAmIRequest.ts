// Original file: proto/meshrun.proto


export interface WhoAmIRequest {
}

export interface WhoAmIRequest__Output {
}
