// The coordinator's defaults, defined once: the entry resolves options against them and the
// CLI's help strings print them. Free of heavy imports, so `meshrun --help` stays quick.
import { RetentionDefaults } from '../lib/limits.js';
import { DEFAULT_COORDINATOR_ADDRESS, DEFAULT_MESH_CIDR, DEFAULT_MESH_KEEPALIVE_S, DEFAULT_NATS_URL } from '../proto/defaults.js';

export const coordinatorDefaults = {
  /** @default 'nats://127.0.0.1:4222' */
  nats: DEFAULT_NATS_URL,
  /** gRPC listen address for clients. @default '127.0.0.1:7433' */
  listen: DEFAULT_COORDINATOR_ADDRESS,
  /** Silence before a node is suspect. @default 1500 */
  suspectAfterMs: 1500,
  /** Silence before a node is down and its work fails over: more than an agent's lease plus kill grace, so its cut-off runs are stopped first. @default 5000 */
  downAfterMs: 5000,
  /** A node whose agent closed its connection (restart, crash) is held this long before its work fails over. @default 30000 */
  restartGraceMs: 30_000,
  /** Several coordinators on one bus: a standby takes over after the leader's lease lapses this long. @default 1500 */
  leaderLeaseMs: 1500,
  /** Copies of every stream, KV bucket and object store: 1 on a single nats-server, 3 on a cluster. @default 1 */
  replicas: 1,
  /** An ended job is removed everywhere this long after it ended. @default 7 days */
  retainForMs: RetentionDefaults.retainForMs,
  /** Ended jobs kept at most (the oldest are removed first). @default 1000 */
  retainJobs: RetentionDefaults.retainJobs,
  /** Applied run events kept in MR_EVENTS as evidence. @default 10000 */
  retainEvents: RetentionDefaults.retainEvents,
  /** IPv4 range mesh addresses are allocated from. @default '10.99.0.0/16' */
  meshCidr: DEFAULT_MESH_CIDR,
  /** WireGuard persistent keepalive between nodes, 0 = off. @default 25 */
  meshKeepaliveS: DEFAULT_MESH_KEEPALIVE_S,
} as const;
