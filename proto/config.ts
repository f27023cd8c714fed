// Config files of the daemons (written by `meshrun install`, read with --config);
// CLI flags override file values, then defaults fill the rest.
import { z } from 'zod';
import { durationSchema } from './duration-schema.js';
import { labelsSchema, nodeNameSchema } from './names.js';
import { resourcesSchema } from './resources-schema.js';

// Defined import-free in defaults.ts; named here too, beside the files they are defaults of.
export {
  DEFAULT_COORDINATOR_ADDRESS,
  DEFAULT_MESH_CIDR,
  DEFAULT_MESH_KEEPALIVE_S,
  DEFAULT_MESH_PORT,
  DEFAULT_NATS_PORT,
  DEFAULT_NATS_URL,
  DEFAULT_SECURE_NATS_URL,
} from './defaults.js';

/** How a daemon proves itself to nats-server and checks the server: files made by `meshrun init`. */
export interface NatsAuth {
  /** The `.creds` file (user JWT and nkey seed). */
  credsFile?: string;
  /** The fleet CA certificate: TLS, trusting only servers it signed. */
  caFile?: string;
}

export const agentConfigSchema = z.strictObject({
  nats: z.string().min(1).optional(),
  natsCreds: z.string().min(1).optional(),
  natsCa: z.string().min(1).optional(),
  node: nodeNameSchema.optional(),
  labels: labelsSchema.optional(),
  stateDir: z.string().min(1).optional(),
  slots: z.number().int().min(1).max(1024).optional(),
  standby: z.boolean().optional(),
  heartbeat: durationSchema.optional(),
  lease: durationSchema.optional(),
  killGrace: durationSchema.optional(),
  outboxMaxBytes: z.number().int().min(1024).optional(),
  retainRunsFor: durationSchema.optional(),
  /** WireGuard mesh (docs/mesh.md): off unless meshIf is set. */
  meshIf: z.string().min(1).max(15).optional(),
  meshEndpoint: z.string().min(1).optional(),
  meshPort: z.number().int().min(1).max(65535).optional(),
  /** Connect to the bus without a credential (warned at every start). */
  insecure: z.boolean().optional(),
  /** The coordinator's gRPC address (`host:port`): where a join token is exchanged for the node's credential. */
  coordinator: z.string().min(1).optional(),
  /** Held back from what stages may request: `{cpu: 2, memory: 4G}` (the --reserve flag wins). */
  reserve: resourcesSchema.optional(),
  /**
   * Replaces the cpu and/or memory the agent detects (`{cpu: 16, memory: 64G}`), where detection
   * is wrong (a VM's balloon, a limit it cannot read) - and in tests, to give one machine many sizes.
   */
  capacity: resourcesSchema.optional(),
});
export type AgentConfigFile = z.infer<typeof agentConfigSchema>;

export const coordinatorConfigSchema = z.strictObject({
  nats: z.string().min(1).optional(),
  trustDir: z.string().min(1).optional(),
  natsCreds: z.string().min(1).optional(),
  natsCa: z.string().min(1).optional(),
  listen: z.string().min(1).optional(),
  /** The web dashboard's HTTPS address (docs/web.md); none without it. */
  webListen: z.string().min(1).optional(),
  stateDir: z.string().min(1).optional(),
  suspectAfter: durationSchema.optional(),
  downAfter: durationSchema.optional(),
  restartGrace: durationSchema.optional(),
  leaderLease: durationSchema.optional(),
  /** Copies of every stream, KV bucket and object store on a nats-server cluster (1 on a single server). */
  replicas: z.number().int().min(1).max(5).optional(),
  retainFor: durationSchema.optional(),
  retainJobs: z.number().int().min(0).optional(),
  retainEvents: z.number().int().min(0).optional(),
  meshCidr: z.string().optional(),
  meshKeepalive: durationSchema.optional(),
  /** host:port where Prometheus scrapes /metrics (off when absent; docs/metrics.md). */
  metricsListen: z.string().min(1).optional(),
  insecure: z.boolean().optional(),
});
export type CoordinatorConfigFile = z.infer<typeof coordinatorConfigSchema>;
