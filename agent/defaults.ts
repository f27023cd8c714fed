// The agent's defaults, defined once: the entry resolves options against them and the CLI's
// help strings print them. Free of heavy imports, so `meshrun --help` stays quick.
import { DEFAULT_MESH_PORT, DEFAULT_NATS_URL } from '../proto/defaults.js';
import { Limits } from '../lib/limits.js';

export const agentDefaults = {
  /** @default 'nats://127.0.0.1:4222' */
  nats: DEFAULT_NATS_URL,
  /** Runs at once. @default 4 */
  slots: 4,
  /** Take work only when no ready non-standby node has the labels. @default false */
  standby: false,
  /** @default 500 */
  heartbeatMs: 500,
  /** Runs with failover `reassign` are stopped when no heartbeat was acknowledged for this long: longer than the leader lease plus a second, so runs are held through a standby taking over from a frozen leader. @default 3000 */
  leaseMs: 3000,
  /** SIGTERM -> SIGKILL grace for cancel, timeout and fencing. @default 1500 */
  killGraceMs: 1500,
  /** @default 64 MiB (`Limits.outboxMaxBytes`) */
  outboxMaxBytes: Limits.outboxMaxBytes,
  /** A job's run directory untouched this long is removed (the backstop for a node that missed the coordinator's retention). @default 14 days */
  retainRunsForMs: 14 * 24 * 60 * 60 * 1000,
  /** UDP listen port of the mesh interface (with --mesh-if). @default 51820 */
  meshPort: DEFAULT_MESH_PORT,
} as const;
