// Node liveness over time: each sweep compares every node's silence with the thresholds
// (ready -> suspect -> down) and reports each change once, so failover runs once per
// transition; the coordinator decides what a change means for the jobs.
import type { Logger } from '../lib/log.js';
import type { NodeEntry, NodeRegistry } from './node-registry.js';
import type { LiveNodeState } from './scheduler.js';

export interface LivenessChange {
  entry: NodeEntry;
  from: LiveNodeState;
  to: LiveNodeState;
}

export class LivenessMonitor {
  constructor(
    private readonly nodes: NodeRegistry,
    private readonly log: Logger,
  ) {}

  /** Liveness changes since the last sweep (each logged); marks them handled. */
  sweep(now: number): LivenessChange[] {
    const changes: LivenessChange[] = [];
    for (const e of this.nodes.entries.values()) {
      const live = this.nodes.liveness(e, now);
      if (live === e.handled) continue;
      changes.push({ entry: e, from: e.handled, to: live });
      e.handled = live;
      if (live === 'suspect') this.log.warn('node suspect', { node: e.record.name, silentMs: now - e.lastSeenAt });
      if (live === 'down') this.log.warn('node down', { node: e.record.name, silentMs: now - e.lastSeenAt });
    }
    return changes;
  }

  /** A heartbeat arrived: the node is ready again; returns the state it was handled as. */
  heard(e: NodeEntry): LiveNodeState {
    const was = e.handled;
    e.handled = 'ready';
    return was;
  }

  isReady(node: string, now: number): boolean {
    const e = this.nodes.entries.get(node);
    return e !== undefined && this.nodes.liveness(e, now) === 'ready';
  }
}
