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
    coordinatorCreds: join(dir, 'coordinator', 'coordinator.creds'),
    coordinatorSystemCreds: join(dir, 'coordinator', 'system.creds'),
    secretsKey: join(dir, 'coordinator', 'secrets.key'),
    grpcCert: join(dir, 'coordinator', 'grpc.pem'),
    grpcKey: join(dir, 'coordinator', 'grpc-key.pem'),
    usersBootstrap: join(dir, 'users', 'bootstrap.json'),
    adminConfig: join(dir, 'users', 'admin.yaml'),
  };
}
