// Where a trust root's files are, as `meshrun init` lays them out. Free of crypto imports, so
// the CLI can name them (install, flags) without loading the key and certificate libraries.
import { join } from 'node:path';

export interface TrustRootPaths {
  dir: string;
  /** Operator, system and account seeds and JWTs (secret). */
  trust: string;
  caCert: string;
  caKey: string;
  natsConfig: string;
  natsCert: string;
  natsKey: string;
  natsStore: string;
  natsResolver: string;
  /** A cluster's route TLS: a CA of its own (it signs nothing else) and the servers' certificate. */
  routeCaCert: string;
  routeCaKey: string;
  routeCert: string;
  routeKey: string;
  /** The coordinator's bus credential (all subjects of the meshrun account). */
  coordinatorCreds: string;
  /** The coordinator's system-account credential: pushes revocations to the servers. */
  coordinatorSystemCreds: string;
  /** The key job secrets are encrypted with at rest (32 random bytes, base64). */
  secretsKey: string;
  /** The coordinator's gRPC server certificate and key (TLS for clients). */
  grpcCert: string;
  grpcKey: string;
  /** Users meshrun init issued (public certificates), registered by the coordinator's first start. */
  usersBootstrap: string;
  /** The first admin's client config (its key inside, 0600): `export MESHRUN_CONFIG=<this>`. */
  adminConfig: string;
}

export function trustRootPaths(dir: string): TrustRootPaths {
  return {
    dir,
    trust: join(dir, 'trust.json'),
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    natsConfig: join(dir, 'nats', 'nats.conf'),
    natsCert: join(dir, 'nats', 'server.pem'),
    natsKey: join(dir, 'nats', 'server-key.pem'),
    natsStore: join(dir, 'nats', 'store'),
    natsResolver: join(dir, 'nats', 'accounts'),
    routeCaCert: join(dir, 'nats', 'route-ca.pem'),
    routeCaKey: join(dir, 'nats', 'route-ca-key.pem'),
    routeCert: join(dir, 'nats', 'route.pem'),
    routeKey: join(dir, 'nats', 'route-key.pem'),
    coordinatorCreds: join(dir, 'coordinator', 'coordinator.creds'),
    coordinatorSystemCreds: join(dir, 'coordinator', 'system.creds'),
    secretsKey: join(dir, 'coordinator', 'secrets.key'),
    grpcCert: join(dir, 'coordinator', 'grpc.pem'),
    grpcKey: join(dir, 'coordinator', 'grpc-key.pem'),
    usersBootstrap: join(dir, 'users', 'bootstrap.json'),
    adminConfig: join(dir, 'users', 'admin.yaml'),
  };
}

/** One server of a cluster: its configuration, JetStream store and account JWTs, under nats/NAME/. */
export function natsClusterServerPaths(dir: string, name: string): { config: string; store: string; resolver: string } {
  return { config: join(dir, 'nats', name, 'nats.conf'), store: join(dir, 'nats', name, 'store'), resolver: join(dir, 'nats', name, 'accounts') };
}
