// Original file: proto/meshrun.proto


export interface MeshStatusRequest {
}

export interface MeshStatusRequest__Output {
}
