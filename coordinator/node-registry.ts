// The coordinator's live view of nodes: registration from heartbeats, liveness by
// the time since the last one (ready -> suspect -> down), drain flags.
import type { Heartbeat, NodeRecord } from '../proto/bus.js';
import type { LiveNodeState, NodeView } from './scheduler.js';

export interface LivenessOptions {
  /** @default 1500 */
  suspectAfterMs: number;
  /** @default 3500 */
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
}

export class NodeRegistry {
  readonly entries = new Map<string, NodeEntry>();

  constructor(private readonly opts: LivenessOptions) {}

  load(records: NodeRecord[], now: number): void {
    // until a node's heartbeat says its lease is live, it gets no work
    for (const r of records) this.entries.set(r.name, { record: r, lastSeenAt: now, handled: 'ready', reported: new Set(), leaseLive: false });
  }

  /** Records a heartbeat; returns the entry and whether the durable record changed. */
  seen(hb: Heartbeat, now: number): { entry: NodeEntry; changed: boolean; instanceChanged: boolean } {
    const prev = this.entries.get(hb.node);
    const record: NodeRecord = {
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
    };
    const changed =
      !prev ||
      prev.record.removed ||
      prev.record.instance !== hb.instance ||
      JSON.stringify(prev.record.labels) !== JSON.stringify(hb.labels) ||
      prev.record.slots !== hb.slots ||
      prev.record.standby !== hb.standby ||
      prev.record.version !== hb.version ||
      prev.record.runRoot !== hb.runRoot ||
      now - prev.record.lastSeenAt > 30_000;
    const instanceChanged = prev !== undefined && prev.record.instance !== hb.instance;
    const entry: NodeEntry = prev ?? { record, lastSeenAt: now, handled: 'ready', reported: new Set(), leaseLive: false };
    if (changed) entry.record = record;
    entry.lastSeenAt = now;
    entry.leaseLive = hb.leaseLive;
    entry.restartGraceUntil = 0;
    entry.reported = new Set(hb.runs.filter((r) => r.state !== 'exited').map((r) => `${r.token.job}/${r.token.stage}/${r.token.attempt}`));
    this.entries.set(hb.node, entry);
    return { entry, changed, instanceChanged };
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

  views(now: number, running: Map<string, number>): NodeView[] {
    return [...this.entries.values()].map((e) => ({
      name: e.record.name,
      labels: e.record.labels,
      slots: e.record.slots,
      standby: e.record.standby,
      draining: e.record.draining,
      removed: e.record.removed,
      state: this.liveness(e, now),
      running: running.get(e.record.name) ?? 0,
      leaseLive: e.leaseLive,
    }));
  }
}
