// A throwaway trust root for a fleet on one machine (`meshrun dev`, the tests, the bench): the
// same files `meshrun init` writes, so those fleets run exactly the secured setup users run.
// Node credentials can be issued directly from it (the tests' shortcut past join tokens).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { nodePermissions } from '../../proto/permissions.js';
import { writeFileAtomic } from '../write-file-atomic.js';
import { issueUser } from './nats-jwt.js';
import { initTrustRoot, loadNatsTrust, trustRootPaths, type NatsClusterServer, type TrustRootPaths } from './trust-root.js';

export interface LocalTrust {
  paths: TrustRootPaths;
  /** `tls://host:port` of the nats-server the config describes. */
  natsUrl: string;
  natsHost: string;
  natsPort: number;
}

export async function makeLocalTrust(
  dir: string,
  o: { natsHost?: string; natsPort: number; coordinatorPort: number; coordinatorHosts?: string[]; natsCluster?: { name: string; servers: NatsClusterServer[] } },
): Promise<LocalTrust> {
  const natsHost = o.natsHost ?? '127.0.0.1';
  const coordinatorHosts = [...new Set(['127.0.0.1', 'localhost', ...(o.coordinatorHosts ?? [])])];
  const paths = await initTrustRoot(dir, {
    natsHosts: [...new Set([natsHost, '127.0.0.1', 'localhost'])],
    natsListen: natsHost,
    natsPort: o.natsPort,
    coordinatorHosts,
    coordinatorPort: o.coordinatorPort,
    natsCluster: o.natsCluster,
    force: true,
    // a throwaway root: short-lived certificates
    caValidDays: 30,
    certValidDays: 30,
  });
  return { paths, natsUrl: `tls://${natsHost}:${o.natsPort}`, natsHost, natsPort: o.natsPort };
}

/** Writes a node credential (as enrollment would issue it) to `path`, 0600. */
export async function issueNodeCreds(trustDir: string, node: string, path: string): Promise<void> {
  const { creds } = await issueUser(loadNatsTrust(trustDir), `node-${node}`, nodePermissions(node));
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, new TextDecoder().decode(creds), 0o600);
}

export { trustRootPaths };
