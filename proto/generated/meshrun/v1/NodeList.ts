// Original file: proto/meshrun.proto

import type { Node as _meshrun_v1_Node, Node__Output as _meshrun_v1_Node__Output } from '../../meshrun/v1/Node.js';

export interface NodeList {
  'nodes'?: (_meshrun_v1_Node)[];
}

export interface NodeList__Output {
  'nodes': (_meshrun_v1_Node__Output)[];
}
