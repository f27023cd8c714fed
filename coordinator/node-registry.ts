// The coordinator's live view of nodes: registration from heartbeats, liveness by
// the time since the last one (ready -> suspect -> down), drain flags.
import type { AgentOutbox, Heartbeat, NodeRecord } from '../proto/bus.js';
import type { Labels } from '../proto/names.js';
import { NO_RESOURCES, sameResources, type Resources } from '../proto/resources.js';
import type { LiveNodeState, NodeView } from './scheduler.js';

/** What a node's active attempts take: slots, and the sum of their requests. */
export interface NodeUsage {
  running: number;
  allocated: Resources;
}

export interface LivenessOptions {
  /** @default 1500 */
  suspectAfterMs: number;
  /** @default 5000 */
  downAfterMs: number;
  /** A node whose agent's connection closed (the process ended or restarts) is not down before this. @default 30000 */
  restartGraceMs?: number;
}

export interface NodeEntry {
  record: NodeRecord;
  /** Local clock of the last heartbeat (or of a coordinator restart/reconnect: a fresh grace). */
  lastSeenAt: number;
  /** Liveness state last acted on, so failover runs once per transition. */
  handled: LiveNodeState;
  reported: Set<string>;
  /** The node's last heartbeat said its lease was live (it takes starts only then). */
  leaseLive: boolean;
  /**
   * The agent's bus connection closed (its process ended: a restart, a crash, kill -9): not
   * down before this time, so its runs - which outlive it - are held, not reassigned. 0: none.
   */
  restartGraceUntil?: number;
  /** The agent's outbox as its last heartbeat said (for metrics; absent from older agents). */
  outbox?: AgentOutbox;
}

/**
 * How old the stored record's `lastSeenAt` gets before a heartbeat writes it again: this long
 * plus up to as much again, by the node's name (refreshAfterMs). Nothing reads the stored value
 * to decide anything (liveness is in memory); it tells an operator looking at the bucket roughly
 * when the node was there. Every 30 s, at 10,000 nodes registered in one burst, the rewrites came
 * in bursts of 10,000 KV writes that held up the leader lease's renewal until the coordinator
 * suspended itself (the fleet bench): rarer, and spread over the fleet, they cost nothing.
 */
export const RECORD_REFRESH_MS = 5 * 60_000;

/** When a node's stored record is due again: RECORD_REFRESH_MS plus its share, in [0, RECORD_REFRESH_MS), from its name. */
export function refreshAfterMs(node: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < node.length; i++) h = Math.imul(h ^ node.charCodeAt(i), 0x01000193);
  return RECORD_REFRESH_MS + ((h >>> 0) % RECORD_REFRESH_MS);
}

export class NodeRegistry {
  readonly entries = new Map<string, NodeEntry>();

  constructor(private readonly opts: LivenessOptions) {}

  load(records: NodeRecord[], now: number): void {
    // until a node's heartbeat says its lease is live, it gets no work
    for (const r of records) this.entries.set(r.name, { record: r, lastSeenAt: now, handled: 'ready', reported: new Set(), leaseLive: false });
  }

  /**
   * Records a heartbeat. `changed`: what the node advertises changed (or it is new), so placement
   * and `meshrun nodes` see something new; `persist`: the durable record is to be written - when
   * it changed, and now and then (refreshAfterMs) so the stored `lastSeenAt` stays roughly current.
   */
  seen(hb: Heartbeat, now: number): { entry: NodeEntry; changed: boolean; persist: boolean; instanceChanged: boolean } {
    const prev = this.entries.get(hb.node);
    const changed =
      !prev ||
      prev.record.removed ||
      prev.record.instance !== hb.instance ||
      !sameLabels(prev.record.labels, hb.labels) ||
      prev.record.slots !== hb.slots ||
      prev.record.standby !== hb.standby ||
      prev.record.version !== hb.version ||
      prev.record.runRoot !== hb.runRoot ||
      !sameResources(prev.record.capacity, hb.capacity) ||
      !sameResources(prev.record.allocatable, hb.allocatable);
    const age = changed ? 0 : now - prev.record.lastSeenAt;
    const persist = changed || (age > RECORD_REFRESH_MS && age > refreshAfterMs(hb.node));
    const instanceChanged = prev !== undefined && prev.record.instance !== hb.instance;
    // an ordinary heartbeat builds nothing new: at 10,000 nodes this runs 20,000 times a second
    const record: NodeRecord | undefined = persist
      ? {
          name: hb.node,
          instance: hb.instance,
          labels: hb.labels,
          slots: hb.slots,
          standby: hb.standby,
          draining: prev?.record.draining ?? false,
          removed: false,
          lastSeenAt: now,
          version: hb.version,
          runRoot: hb.runRoot,
          mesh: hb.mesh ?? prev?.record.mesh,
          capacity: hb.capacity,
          allocatable: hb.allocatable,
        }
      : undefined;
    const entry: NodeEntry = prev ?? { record: record!, lastSeenAt: now, handled: 'ready', reported: new Set(), leaseLive: false };
    if (record) entry.record = record;
    entry.lastSeenAt = now;
    entry.leaseLive = hb.leaseLive;
    entry.restartGraceUntil = 0;
    entry.outbox = hb.outbox;
    if (hb.runs.length > 0 || entry.reported.size > 0) entry.reported = new Set(hb.runs.filter((r) => r.state !== 'exited').map((r) => `${r.token.job}/${r.token.stage}/${r.token.attempt}`));
    if (!prev) this.entries.set(hb.node, entry);
    return { entry, changed, persist, instanceChanged };
  }

  liveness(e: NodeEntry, now: number): LiveNodeState {
    const age = now - e.lastSeenAt;
    if (age >= this.opts.downAfterMs && now >= (e.restartGraceUntil ?? 0)) return 'down';
    if (age >= this.opts.downAfterMs) return 'suspect';
    if (age >= this.opts.suspectAfterMs) return 'suspect';
    return 'ready';
  }

  /**
   * The node's agent closed its bus connection (nats-server saw the socket close: the process
   * ended). Unlike silence, that is a process restarting, not a machine gone: its runs are held
   * for the restart grace. Returns false for an unknown node.
   */
  connectionClosed(node: string, now: number): boolean {
    const e = this.entries.get(node);
    if (!e) return false;
    e.leaseLive = false;
    e.restartGraceUntil = now + (this.opts.restartGraceMs ?? 30_000);
    return true;
  }

  /** After the coordinator itself was away from the bus, nobody is to blame: fresh grace. */
  refreshAll(now: number): void {
    for (const e of this.entries.values()) {
      e.lastSeenAt = now;
      // the nodes were maybe away too: work again once a heartbeat says the lease is live
      e.leaseLive = false;
    }
  }

  views(now: number, usage: ReadonlyMap<string, NodeUsage>): NodeView[] {
    return [...this.entries.values()].map((e) => ({
      name: e.record.name,
      labels: e.record.labels,
      slots: e.record.slots,
      standby: e.record.standby,
      draining: e.record.draining,
      removed: e.record.removed,
      state: this.liveness(e, now),
      running: usage.get(e.record.name)?.running ?? 0,
      leaseLive: e.leaseLive,
      allocatable: e.record.allocatable,
      allocated: usage.get(e.record.name)?.allocated ?? NO_RESOURCES,
    }));
  }
}

export function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
