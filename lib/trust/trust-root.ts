// A fleet's trust root on disk, made once by `meshrun init` on the coordinator's machine:
// the NATS operator and accounts (their seeds stay here), a CA, nats-server's certificate
// and configuration, and the coordinator's own credentials. Secrets are 0600; only public
// parts (the CA certificate, JWTs inside configs) ever leave this directory.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ErrorCode, MeshrunError } from '../errors.js';
import { writeFileAtomic } from '../write-file-atomic.js';
import { createNatsTrust, issueSystemUser, issueUser, natsServerConfig, type NatsTrust } from './nats-jwt.js';
import { createCa, issueCert, writePrivateKey, type CertAndKey } from './x509.js';
import { writeClientConfig } from './client-config.js';
import { natsClusterServerPaths, trustRootPaths, type TrustRootPaths } from './paths.js';

export { trustRootPaths, type TrustRootPaths };

export interface InitOptions {
  /** Names and addresses nats-server is reached by (its certificate's subjectAltNames). */
  natsHosts: string[];
  /** Address nats-server listens on. @default '127.0.0.1' */
  natsListen: string;
  natsPort: number;
  /** Names and addresses clients reach the coordinator's gRPC port by (its certificate's subjectAltNames). */
  coordinatorHosts: string[];
  /** The coordinator's gRPC port, for the admin's client config. */
  coordinatorPort: number;
  /** Replace an existing trust root (every credential issued from it stops working). */
  force: boolean;
  /**
   * The servers of a nats-server cluster (3 or more): a configuration each, under nats/NAME/,
   * instead of the single server's nats/nats.conf.
   */
  natsCluster?: { name: string; servers: NatsClusterServer[] };
  /** @default 3650 */
  caValidDays?: number;
  /** @default 825 */
  certValidDays?: number;
}

export interface NatsClusterServer {
  name: string;
  /** Where clients and the other servers reach it (also the address it listens on). */
  host: string;
  port: number;
  clusterPort: number;
}

const natsTrustSchema = z.object({
  operator: z.object({ name: z.string(), seed: z.string(), jwt: z.string(), publicKey: z.string() }),
  system: z.object({ seed: z.string(), jwt: z.string(), publicKey: z.string() }),
  account: z.object({ name: z.string(), seed: z.string(), jwt: z.string(), publicKey: z.string(), revocations: z.record(z.string(), z.number()) }),
});

/** Creates the trust root in `dir`; refuses to replace one unless `force`. */
export async function initTrustRoot(dir: string, o: InitOptions): Promise<TrustRootPaths> {
  const p = trustRootPaths(dir);
  if (existsSync(p.trust) && !o.force) {
    throw new MeshrunError(ErrorCode.Conflict, `${p.trust} exists: this machine already has a trust root (--force replaces it, and every credential issued from it stops working)`);
  }
  if (o.natsHosts.length === 0) throw new MeshrunError(ErrorCode.Usage, 'at least one --nats-host is needed (the name or address agents reach nats-server by)');
  if (o.coordinatorHosts.length === 0) throw new MeshrunError(ErrorCode.Usage, 'at least one --coordinator-host is needed (the name or address clients reach the coordinator by)');
  for (const d of [dir, join(dir, 'nats'), join(dir, 'coordinator'), join(dir, 'users'), p.natsStore, p.natsResolver]) mkdirSync(d, { recursive: true, mode: 0o700 });

  const trust = await createNatsTrust();
  writeFileAtomic(p.trust, JSON.stringify(trust, null, 2) + '\n', 0o600);

  const ca = await createCa({ name: 'meshrun fleet CA', validDays: o.caValidDays ?? 3650 });
  writeFileAtomic(p.caCert, ca.certPem, 0o644);
  writePrivateKey(p.caKey, ca.keyPem);
  const serverCert = (hosts: string[]): Promise<CertAndKey> => hostCert(ca, hosts[0]!, hosts, 'server', o.certValidDays);
  const cluster = o.natsCluster;
  if (cluster && cluster.servers.length < 3) {
    throw new MeshrunError(ErrorCode.Usage, `a nats-server cluster needs at least 3 servers (got ${cluster.servers.length}): JetStream keeps working while a majority is up, and 2 servers cannot lose one`);
  }
  const natsHosts = [...new Set([...o.natsHosts, ...(cluster?.servers.map((s) => s.host) ?? [])])];
  const server = await serverCert(natsHosts);
  writeFileAtomic(p.natsCert, server.certPem, 0o644);
  writePrivateKey(p.natsKey, server.keyPem);
  const grpc = await serverCert(o.coordinatorHosts);
  // the chain includes the CA: a joining node finds it there and checks it against its token's pin
  writeFileAtomic(p.grpcCert, grpc.certPem + ca.certPem, 0o644);
  writePrivateKey(p.grpcKey, grpc.keyPem);

  // the first admin: its key is made here, its certificate registered by the coordinator's first start
  const admin = await issueCert(ca, { commonName: 'admin', usage: 'client', validDays: o.certValidDays ?? 825 });
  writeFileAtomic(p.usersBootstrap, JSON.stringify([{ name: 'admin', role: 'admin', certPem: admin.certPem }], null, 2) + '\n', 0o600);
  const host = o.coordinatorHosts[0]!;
  writeClientConfig(p.adminConfig, 'admin', {
    coordinator: `${host.includes(':') ? `[${host}]` : host}:${o.coordinatorPort}`,
    user: 'admin',
    ca: ca.certPem,
    cert: admin.certPem,
    key: admin.keyPem,
  });

  // TLS always; clients prove who they are with their credential (JWT + nkey), not a client certificate
  const clientTls = { certFile: p.natsCert, keyFile: p.natsKey, caFile: p.caCert, verify: false };
  if (cluster) await writeClusterConfigs(p, trust, cluster, clientTls, o);
  else writeFileAtomic(p.natsConfig, natsServerConfig(trust, { host: o.natsListen, port: o.natsPort, storeDir: p.natsStore, resolverDir: p.natsResolver, tls: clientTls }), 0o600);
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  writeFileAtomic(p.coordinatorCreds, text((await issueUser(trust, 'coordinator', 'all')).creds), 0o600);
  writeFileAtomic(p.coordinatorSystemCreds, text((await issueSystemUser(trust, 'coordinator-system')).creds), 0o600);
  return p;
}

/**
 * One configuration per cluster server, routes between them over mutual TLS with a CA made for
 * routes alone: the fleet CA also signs users' and nodes' certificates, which must not be able
 * to join the cluster as a server.
 */
async function writeClusterConfigs(
  p: TrustRootPaths,
  trust: NatsTrust,
  cluster: { name: string; servers: NatsClusterServer[] },
  clientTls: { certFile: string; keyFile: string; caFile: string; verify: boolean },
  o: { caValidDays?: number; certValidDays?: number },
): Promise<void> {
  const names = new Set(cluster.servers.map((s) => s.name));
  if (names.size !== cluster.servers.length) throw new MeshrunError(ErrorCode.Usage, 'every --nats-server needs its own name');
  const routeCa = await createCa({ name: 'meshrun route CA', validDays: o.caValidDays ?? 3650 });
  writeFileAtomic(p.routeCaCert, routeCa.certPem, 0o644);
  writePrivateKey(p.routeCaKey, routeCa.keyPem);
  const hosts = [...new Set(cluster.servers.map((s) => s.host))];
  const route = await hostCert(routeCa, `${cluster.name} routes`, hosts, 'both', o.certValidDays);
  writeFileAtomic(p.routeCert, route.certPem, 0o644);
  writePrivateKey(p.routeKey, route.keyPem);
  const hostPort = (h: string, port: number): string => `${h.includes(':') ? `[${h}]` : h}:${port}`;
  for (const s of cluster.servers) {
    const sp = natsClusterServerPaths(p.dir, s.name);
    for (const d of [dirname(sp.config), sp.store, sp.resolver]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const config = natsServerConfig(trust, {
      host: s.host,
      port: s.port,
      storeDir: sp.store,
      resolverDir: sp.resolver,
      tls: clientTls,
      cluster: {
        serverName: s.name,
        name: cluster.name,
        listen: hostPort(s.host, s.clusterPort),
        routes: cluster.servers.map((r) => hostPort(r.host, r.clusterPort)),
        tls: { certFile: p.routeCert, keyFile: p.routeKey, caFile: p.routeCaCert },
      },
    });
    writeFileAtomic(sp.config, config, 0o600);
  }
}

/**
 * Cluster configurations for an existing trust root (growing from one nats-server to three):
 * nats-server gets a new certificate naming every server's host as well (signed by the same
 * CA, so nothing issued before changes), and each server a configuration under nats/NAME/.
 */
export async function addNatsCluster(dir: string, cluster: { name: string; servers: NatsClusterServer[] }, natsHosts: string[]): Promise<TrustRootPaths> {
  const p = trustRootPaths(dir);
  const trust = loadNatsTrust(dir);
  if (cluster.servers.length < 3) {
    throw new MeshrunError(ErrorCode.Usage, `a nats-server cluster needs at least 3 servers (got ${cluster.servers.length}): JetStream keeps working while a majority is up, and 2 servers cannot lose one`);
  }
  const ca = { certPem: readFileSync(p.caCert, 'utf8'), keyPem: readFileSync(p.caKey, 'utf8') };
  const hosts = [...new Set([...natsHosts, ...cluster.servers.map((s) => s.host)])];
  const server = await hostCert(ca, hosts[0]!, hosts, 'server');
  writeFileAtomic(p.natsCert, server.certPem, 0o644);
  writePrivateKey(p.natsKey, server.keyPem);
  await writeClusterConfigs(p, trust, cluster, { certFile: p.natsCert, keyFile: p.natsKey, caFile: p.caCert, verify: false }, {});
  return p;
}

/** The trust root's NATS keys, for issuing and revoking credentials. */
export function loadNatsTrust(dir: string): NatsTrust {
  const p = trustRootPaths(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(p.trust, 'utf8'));
  } catch (err) {
    throw new MeshrunError(ErrorCode.NotFound, `${p.trust}: no trust root here (run meshrun init): ${(err as Error).message}`);
  }
  const r = natsTrustSchema.safeParse(raw);
  if (!r.success) throw new MeshrunError(ErrorCode.InvalidInput, `${p.trust} is damaged: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/** A certificate naming these hosts (names and addresses sorted into their fields). */
function hostCert(ca: CertAndKey, commonName: string, hosts: string[], usage: 'server' | 'both', validDays = 825): Promise<CertAndKey> {
  return issueCert(ca, { commonName, dnsNames: hosts.filter((h) => !isIpLiteral(h)), ips: hosts.filter(isIpLiteral), usage, validDays });
}

function isIpLiteral(h: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');
}
