// What the bench's `fleet` section and its simulator process (bench/fleet-sim.ts) say to each
// other over IPC, and the simulator's bus identity; the simulator runs on import, so this is apart.

/** Replies of the simulator's connection come here (its credential may read nothing else). */
export const SIM_INBOX_PREFIX = '_INBOX.mr.fleet-sim';

/** bench -> simulator. */
export type SimCommand = { cmd: 'window' } | { cmd: 'report' } | { cmd: 'stop' };

/** simulator -> bench. */
export type SimMessage =
  | { type: 'ready' }
  | { type: 'report'; stats: SimStats }
  | { type: 'error'; message: string };

export interface SimStats {
  /** Since the last `window` command. */
  windowMs: number;
  sent: number;
  answered: number;
  /** Not answered within the agent's request timeout (an agent would log "heartbeat not acknowledged"). */
  failed: number;
  /** Heartbeats not sent because the node already had 3 unanswered (the agent's cap). */
  skipped: number;
  refused: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** How far behind its schedule the simulator fell at worst (0: it kept up). */
  maxLagMs: number;
  /** The simulator's own longest event-loop stall: a reply it read late was measured late. */
  loopDelayMaxMs: number;
  /** Nodes that had at least one answered heartbeat (the coordinator knows them). */
  nodesAnswered: number;
}
