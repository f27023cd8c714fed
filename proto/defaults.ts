// The addresses and ports every part assumes when none is given. Free of imports, so the
// CLI's help and its read commands can name them without loading a schema library.

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
