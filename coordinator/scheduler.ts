// Placement, pure: which node a stage goes to, or the reason it waits. A standby node
// gets work only when no ready non-standby node has the labels (strict standby).
import type { Placement } from '../proto/job-spec.js';

export type LiveNodeState = 'ready' | 'suspect' | 'down';

export interface NodeView {
  name: string;
  labels: Record<string, string>;
  slots: number;
  standby: boolean;
  draining: boolean;
  removed: boolean;
  state: LiveNodeState;
  running: number;
  /** false: the node's last heartbeat said its lease is not renewed yet (back after an outage); it takes no work until it is. */
  leaseLive?: boolean;
}

export type PlacementResult = { ok: true; node: string } | { ok: false; reason: string };

export function formatLabels(labels: Record<string, string>): string {
  const s = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return s === '' ? '(any)' : s;
}

export function labelsMatch(want: Record<string, string>, have: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

export function place(on: Placement, nodes: readonly NodeView[]): PlacementResult {
  if (on.node !== undefined) return placeByName(on.node, nodes);
  const want = on.labels ?? {};
  const matching = nodes.filter((n) => !n.removed && labelsMatch(want, n.labels));
  const usable = matching.filter((n) => n.state === 'ready' && !n.draining && n.leaseLive !== false);
  if (usable.length === 0) {
    const why = matching.map((n) => `${n.name} is ${n.state !== 'ready' ? n.state : n.draining ? 'draining' : 'renewing its lease'}`);
    return { ok: false, reason: `no ready node with labels ${formatLabels(want)}${why.length ? ` (${why.join(', ')})` : ''}` };
  }
  const primaries = usable.filter((n) => !n.standby);
  const pool = primaries.length > 0 ? primaries : usable;
  const free = pool.filter((n) => n.running < n.slots);
  if (free.length === 0) {
    const busy = pool.map((n) => `${n.name} ${n.running}/${n.slots}`).join(', ');
    return { ok: false, reason: `every ready node with labels ${formatLabels(want)} is busy (${busy})` };
  }
  free.sort((a, b) => a.running / a.slots - b.running / b.slots || a.name.localeCompare(b.name));
  return { ok: true, node: free[0]!.name };
}

function placeByName(name: string, nodes: readonly NodeView[]): PlacementResult {
  const n = nodes.find((x) => x.name === name && !x.removed);
  if (!n) return { ok: false, reason: `node ${name} is not registered` };
  if (n.state !== 'ready') return { ok: false, reason: `node ${name} is ${n.state}` };
  if (n.draining) return { ok: false, reason: `node ${name} is draining` };
  if (n.leaseLive === false) return { ok: false, reason: `node ${name} is renewing its lease (back after an outage)` };
  if (n.running >= n.slots) return { ok: false, reason: `node ${name} has no free slot (${n.running}/${n.slots} running)` };
  return { ok: true, node: name };
}
