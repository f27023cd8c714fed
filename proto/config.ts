// Config files of the daemons (written by `meshrun install`, read with --config);
// CLI flags override file values, then defaults fill the rest.
import { z } from 'zod';
import { durationSchema } from './duration.js';
import { labelsSchema, nodeNameSchema } from './names.js';

/** The bus a daemon connects to when neither --nats nor the config file names one. */
export const DEFAULT_NATS_PORT = 4222;
export const DEFAULT_NATS_URL = `nats://127.0.0.1:${DEFAULT_NATS_PORT}`;
/** The bus as `meshrun init` sets it up on the coordinator's machine: TLS only. */
export const DEFAULT_SECURE_NATS_URL = `tls://127.0.0.1:${DEFAULT_NATS_PORT}`;
/** UDP listen port of an agent's mesh interface. */
export const DEFAULT_MESH_PORT = 51820;
/** IPv4 range the coordinator allocates mesh addresses from. */
export const DEFAULT_MESH_CIDR = '10.99.0.0/16';
/** WireGuard persistent keepalive between nodes, in seconds. */
export const DEFAULT_MESH_KEEPALIVE_S = 25;
/** Where the coordinator listens for gRPC clients by default, and where clients look for it. */
export const DEFAULT_COORDINATOR_ADDRESS = '127.0.0.1:7433';

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
});
export type AgentConfigFile = z.infer<typeof agentConfigSchema>;

export const coordinatorConfigSchema = z.strictObject({
  nats: z.string().min(1).optional(),
  trustDir: z.string().min(1).optional(),
  natsCreds: z.string().min(1).optional(),
  natsCa: z.string().min(1).optional(),
  listen: z.string().min(1).optional(),
  stateDir: z.string().min(1).optional(),
  suspectAfter: durationSchema.optional(),
  downAfter: durationSchema.optional(),
  retainFor: durationSchema.optional(),
  retainJobs: z.number().int().min(0).optional(),
  retainEvents: z.number().int().min(0).optional(),
  meshCidr: z.string().optional(),
  meshKeepalive: durationSchema.optional(),
  insecure: z.boolean().optional(),
});
export type CoordinatorConfigFile = z.infer<typeof coordinatorConfigSchema>;
