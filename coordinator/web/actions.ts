// What the dashboard's buttons do, by name: each action is the same coordinator call the gRPC
// method of its row makes, and needs that method's role in proto/roles.ts, so the web API and
// the gRPC API can never disagree about who may do what. A new action is one
// row here: the dashboard shows its button to users whose role allows it, and only then.
import type { Need, Role } from '../../proto/roles.js';
import { METHOD_ROLES, roleAllows } from '../../proto/roles.js';
import type { MeshrunHandlers } from '../../proto/generated/meshrun/v1/Meshrun.js';
import type { Coordinator } from '../coordinator.js';
import { toJobMsg, toNodeMsg } from '../grpc-server.js';

/** A method of the gRPC service, by name (the generated type's index signature left out). */
export type RpcMethod = keyof { [K in keyof MeshrunHandlers as string extends K ? never : number extends K ? never : K]: unknown };

/** The role a gRPC method needs, per proto/roles.ts (admin for one it does not name: never less). */
export function needOf(method: RpcMethod): Need {
  return METHOD_ROLES[method] ?? 'admin';
}

export interface WebAction {
  /** The gRPC method whose role the action needs (and the name it is audited under). */
  method: RpcMethod;
  target: 'job' | 'node';
  /** When the dashboard offers it: a job that has not ended, one that has, one that ended other than succeeded, a node draining or not. */
  when: 'active' | 'ended' | 'unsuccessful' | 'draining' | 'serving' | 'any';
  label: string;
  /** `user`: who asked (recorded where the call records it, as a run's starter). */
  run(c: Coordinator, name: string, user: string): Promise<unknown>;
}

export const WEB_ACTIONS: Readonly<Record<string, WebAction>> = {
  cancel: { method: 'CancelJob', target: 'job', when: 'active', label: 'Cancel', run: async (c, id) => toJobMsg(await c.cancel(id)) },
  drain: { method: 'DrainNode', target: 'node', when: 'serving', label: 'Drain', run: async (c, name) => toNodeMsg(await c.setDraining(name, true), c, Date.now()) },
  undrain: { method: 'UndrainNode', target: 'node', when: 'draining', label: 'Undrain', run: async (c, name) => toNodeMsg(await c.setDraining(name, false), c, Date.now()) },
  // a new run of an ended job that re-runs what did not succeed (`meshrun retry JOB`); a job with
  // secrets is refused here, as by the CLI without --secrets-from: the page holds no secret values
  retry: { method: 'RetryJob', target: 'job', when: 'unsuccessful', label: 'Retry failed stages', run: async (c, id, user) => toJobMsg(await c.retry(id, null, {}, user)) },
};

/** Every action, and whether `role` may use it: what /api/me tells the page. */
export function actionsFor(role: Role): { name: string; target: string; when: string; label: string; allowed: boolean; needs: string }[] {
  return Object.entries(WEB_ACTIONS).map(([name, a]) => ({ name, target: a.target, when: a.when, label: a.label, needs: needOf(a.method), allowed: roleAllows(role, needOf(a.method)) }));
}
