// Original file: proto/meshrun.proto


export interface ListNodesRequest {
}

export interface ListNodesRequest__Output {
}
