// Original file: proto/meshrun.proto


export interface ArtifactChunk {
  'stage'?: (string);
  'attempt'?: (number);
  'files'?: (string)[];
  'data'?: (Buffer | Uint8Array | string);
  'last'?: (boolean);
  'sha256'?: (string);
  'node'?: (string);
}

export interface ArtifactChunk__Output {
  'stage': (string);
  'attempt': (number);
  'files': (string)[];
  'data': (Buffer);
  'last': (boolean);
  'sha256': (string);
  'node': (string);
}
