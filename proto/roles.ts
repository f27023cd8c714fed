// Who may call what on the coordinator's gRPC API. Three roles, each including the one
// before it: a viewer reads, an operator also changes jobs and nodes' placement, an admin
// also changes who belongs to the fleet (nodes, users, mesh clients, join tokens). The table
// names every RPC, so a new one without a row is a type error, not an open door.
import { z } from 'zod';
import type { MeshrunHandlers } from './generated/meshrun/v1/Meshrun.js';
import { ROLES, type Role } from './role-names.js';

export { ROLES, type Role };
export const roleSchema = z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` });

/** A user name: what the client certificate's common name carries. */
export const userNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._@-]{0,62}$/, { message: 'must be 1-63 characters of a-z, 0-9, ".", "_", "@", "-", starting with a letter or digit' });

/** `anyone`: the call authenticates itself (a join token), no client certificate needed. */
export type Need = Role | 'anyone';

type Method = keyof MeshrunHandlers;

export const METHOD_ROLES: Record<Method, Need> = {
  GetJob: 'viewer',
  ListJobs: 'viewer',
  ListNodes: 'viewer',
  FollowLogs: 'viewer',
  WatchJob: 'viewer',
  MeshStatus: 'viewer',
  WhoAmI: 'viewer',
  ListSchedules: 'viewer',
  GetSchedule: 'viewer',
  // a dashboard session with the caller's own role: a viewer may log in to read
  CreateWebLogin: 'viewer',

  Submit: 'operator',
  PutBlob: 'operator',
  CancelJob: 'operator',
  RetryJob: 'operator',
  DrainNode: 'operator',
  UndrainNode: 'operator',
  GetArtifacts: 'operator',
  CreateSchedule: 'operator',
  PauseSchedule: 'operator',
  ResumeSchedule: 'operator',
  DeleteSchedule: 'operator',
  RunSchedule: 'operator',

  RemoveNode: 'admin',
  MeshRotateKey: 'admin',
  MeshJoin: 'admin',
  MeshLeave: 'admin',
  CreateJoinToken: 'admin',
  AddUser: 'admin',
  RemoveUser: 'admin',
  ListUsers: 'admin',
  ListAudit: 'admin',

  Join: 'anyone',
};

/** Calls that change something: each one is written to the audit stream, allowed or not. */
export const MUTATING: ReadonlySet<string> = new Set<string>([
  'Submit',
  'PutBlob',
  'CancelJob',
  'RetryJob',
  'DrainNode',
  'UndrainNode',
  'GetArtifacts',
  'CreateSchedule',
  'PauseSchedule',
  'ResumeSchedule',
  'DeleteSchedule',
  'RunSchedule',
  'RemoveNode',
  'MeshRotateKey',
  'MeshJoin',
  'MeshLeave',
  'CreateJoinToken',
  'AddUser',
  'RemoveUser',
  'Join',
  'CreateWebLogin',
]);

export function roleAllows(role: Role, need: Need): boolean {
  return need === 'anyone' || ROLES.indexOf(role) >= ROLES.indexOf(need);
}

/** `/meshrun.v1.Meshrun/Submit` -> `Submit`. */
export function methodName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** What a method needs; an unknown method (not in the .proto) needs admin, never less. */
export function methodNeeds(path: string): Need {
  return (METHOD_ROLES as Record<string, Need>)[methodName(path)] ?? 'admin';
}
