// Original file: proto/meshrun.proto

import type { User as _meshrun_v1_User, User__Output as _meshrun_v1_User__Output } from '../../meshrun/v1/User.js';

export interface UserList {
  'users'?: (_meshrun_v1_User)[];
}

export interface UserList__Output {
  'users': (_meshrun_v1_User__Output)[];
}
