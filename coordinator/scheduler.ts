// Placement, pure: which node a stage goes to, or the reason it waits. A standby node
// gets work only when no ready non-standby node has the labels (strict standby). A stage
// with a resource request goes only where that much is unallocated, packed onto the node it
// leaves the least free (Nomad's bin packing), so large free nodes stay free for large requests.
import type { Placement } from '../proto/job-spec.js';
import { covers, formatResources, NO_RESOURCES, type Resources } from '../proto/resources.js';

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
  /** What the node offers to requests: its capacity less its --reserve. Unset: it reports none (an older agent). */
  allocatable?: Resources;
  /** The sum of the requests of its starting and running attempts (it may exceed allocatable after the node shrank). */
  allocated?: Resources;
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

export function place(on: Placement, nodes: readonly NodeView[], request: Resources = NO_RESOURCES): PlacementResult {
  if (on.node !== undefined) return placeByName(on.node, nodes, request);
  const asks = request.cpu > 0 || request.memory > 0;
  const want = on.labels ?? {};
  const matching = nodes.filter((n) => !n.removed && labelsMatch(want, n.labels));
  // nodes that could hold the request if nothing else ran there; none: it waits for a node that does not exist yet
  const large = asks ? matching.filter((n) => covers(allocatableOf(n), request)) : matching;
  if (matching.length > 0 && large.length === 0) return { ok: false, reason: `${needs(request)}; ${tooSmall(`no node with labels ${formatLabels(want)}`, matching, request)}` };
  const usable = large.filter(isUsable);
  if (usable.length === 0) {
    const why = large.map((n) => `${n.name} is ${notUsableBecause(n)}`);
    const enough = asks && matching.length > 0 ? ` large enough for ${formatResources(request, request)}` : '';
    return { ok: false, reason: `no ready node with labels ${formatLabels(want)}${enough}${why.length ? ` (${why.join(', ')})` : ''}` };
  }
  const primaries = usable.filter((n) => !n.standby);
  const pool = primaries.length > 0 ? primaries : usable;
  const withSlot = pool.filter((n) => n.running < n.slots);
  if (withSlot.length === 0) {
    const busy = pool.map((n) => `${n.name} ${n.running}/${n.slots}`).join(', ');
    return { ok: false, reason: `every ready node with labels ${formatLabels(want)} is busy (${busy})` };
  }
  if (!asks) {
    withSlot.sort((a, b) => a.running / a.slots - b.running / b.slots || a.name.localeCompare(b.name));
    return { ok: true, node: withSlot[0]!.name };
  }
  const free = withSlot.filter((n) => covers(freeOf(n), request));
  if (free.length === 0) {
    const best = largest(withSlot, request, freeOf)!;
    return { ok: false, reason: `${needs(request)}; largest free: ${best.name} ${formatResources(freeOf(best), request)}` };
  }
  const left = new Map(free.map((n) => [n, leftFree(n, request)]));
  free.sort((a, b) => left.get(a)! - left.get(b)! || a.running / a.slots - b.running / b.slots || a.name.localeCompare(b.name));
  return { ok: true, node: free[0]!.name };
}

/**
 * The nodes a stage on all nodes targets: every ready, non-draining node with the labels, in
 * name order. Standby nodes only when no such primary exists (strict standby, as for one node).
 */
export function fanoutTargets(labels: Record<string, string>, nodes: readonly NodeView[]): string[] {
  const usable = nodes.filter((n) => !n.removed && isUsable(n) && labelsMatch(labels, n.labels));
  const primaries = usable.filter((n) => !n.standby);
  return (primaries.length > 0 ? primaries : usable).map((n) => n.name).sort();
}

/** The node is gone for a fan-out's share that has not started: down, removed or never registered. */
export function nodeGone(name: string, nodes: readonly NodeView[]): boolean {
  const n = nodes.find((x) => x.name === name);
  return !n || n.removed || n.state === 'down';
}

/** Books a placement into the views, so the next decision of the same pass sees its slot and request taken. */
export function book(views: readonly NodeView[], node: string, request: Resources): void {
  const v = views.find((x) => x.name === node);
  if (!v) return;
  v.running += 1;
  const a = v.allocated ?? NO_RESOURCES;
  v.allocated = { cpu: a.cpu + request.cpu, memory: a.memory + request.memory };
}

export function allocatableOf(n: NodeView): Resources {
  return n.allocatable ?? NO_RESOURCES;
}

/** Allocatable less allocated; negative where the node shrank below what it holds. */
export function freeOf(n: NodeView): Resources {
  const t = allocatableOf(n);
  const a = n.allocated ?? NO_RESOURCES;
  return { cpu: t.cpu - a.cpu, memory: t.memory - a.memory };
}

function isUsable(n: NodeView): boolean {
  return n.state === 'ready' && !n.draining && n.leaseLive !== false;
}

function notUsableBecause(n: NodeView): string {
  return n.state !== 'ready' ? n.state : n.draining ? 'draining' : 'renewing its lease';
}

const needs = (request: Resources): string => `needs ${formatResources(request, request)}`;

/** The reason no node can ever hold the request: the largest there is, by what it offers at all. */
function tooSmall(what: string, nodes: readonly NodeView[], request: Resources): string {
  const best = largest(nodes.filter((n) => n.allocatable !== undefined), request, allocatableOf);
  if (!best) return `${what} reports its cpu and memory (agents older than capacity-aware placement)`;
  return `${what} is that large (largest: ${best.name} ${formatResources(allocatableOf(best), request)} allocatable)`;
}

/**
 * The node that would hold the most of the request by `amount` (the smallest share it has of
 * any dimension asked for), ties by name: the one an operator compares the request with.
 */
function largest(nodes: readonly NodeView[], request: Resources, amount: (n: NodeView) => Resources): NodeView | undefined {
  const share = (n: NodeView): number => {
    const r = amount(n);
    return Math.min(request.cpu > 0 ? r.cpu / request.cpu : Infinity, request.memory > 0 ? r.memory / request.memory : Infinity);
  };
  let best: NodeView | undefined;
  let bestShare = -Infinity;
  for (const n of nodes) {
    const s = share(n);
    if (s > bestShare || (s === bestShare && best && n.name.localeCompare(best.name) < 0)) [best, bestShare] = [n, s];
  }
  return best;
}

/** Nomad's bin-packing fit: lower is a tighter fit (less of the node left free after the request). */
function leftFree(n: NodeView, request: Resources): number {
  const t = allocatableOf(n);
  const f = freeOf(n);
  const share = (free: number, take: number, total: number): number => (total > 0 ? Math.max(0, free - take) / total : 0);
  return 10 ** share(f.cpu, request.cpu, t.cpu) + 10 ** share(f.memory, request.memory, t.memory);
}

function placeByName(name: string, nodes: readonly NodeView[], request: Resources): PlacementResult {
  const n = nodes.find((x) => x.name === name && !x.removed);
  if (!n) return { ok: false, reason: `node ${name} is not registered` };
  const asks = request.cpu > 0 || request.memory > 0;
  if (asks && !covers(allocatableOf(n), request)) {
    if (n.allocatable === undefined) return { ok: false, reason: `${needs(request)}; node ${name} reports no cpu and memory (an agent older than capacity-aware placement)` };
    return { ok: false, reason: `${needs(request)}; node ${name} is not that large (${formatResources(n.allocatable, request)} allocatable)` };
  }
  if (n.state !== 'ready') return { ok: false, reason: `node ${name} is ${n.state}` };
  if (n.draining) return { ok: false, reason: `node ${name} is draining` };
  if (n.leaseLive === false) return { ok: false, reason: `node ${name} is renewing its lease (back after an outage)` };
  if (n.running >= n.slots) return { ok: false, reason: `node ${name} has no free slot (${n.running}/${n.slots} running)` };
  if (asks && !covers(freeOf(n), request)) return { ok: false, reason: `${needs(request)}; node ${name} has ${formatResources(freeOf(n), request)} free` };
  return { ok: true, node: name };
}
