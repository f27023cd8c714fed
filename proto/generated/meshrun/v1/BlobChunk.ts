// Original file: proto/meshrun.proto


export interface BlobChunk {
  'sha256'?: (string);
  'data'?: (Buffer | Uint8Array | string);
}

export interface BlobChunk__Output {
  'sha256': (string);
  'data': (Buffer);
}
