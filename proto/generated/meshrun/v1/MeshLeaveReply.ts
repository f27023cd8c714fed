// Original file: proto/meshrun.proto


export interface MeshLeaveReply {
  'client'?: (string);
  'releasedAddress'?: (string);
  'nodesAcked'?: (number);
  'nodesPending'?: (string)[];
}

export interface MeshLeaveReply__Output {
  'client': (string);
  'releasedAddress': (string);
  'nodesAcked': (number);
  'nodesPending': (string)[];
}
