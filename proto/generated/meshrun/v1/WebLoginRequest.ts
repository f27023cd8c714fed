// Original file: proto/meshrun.proto


export interface WebLoginRequest {
}

export interface WebLoginRequest__Output {
}
