// `meshrun init`: makes the fleet's trust root on the coordinator's machine (NATS operator
// and account keys, a CA, nats-server's certificate and configuration, the coordinator's
// credentials) and says how to start nats-server and the coordinator with it.
import { join } from 'node:path';
import { DEFAULT_COORDINATOR_ADDRESS, DEFAULT_NATS_PORT } from '../../proto/config.js';
import { addNatsCluster, initTrustRoot, type NatsClusterServer } from '../../lib/trust/trust-root.js';
import { natsClusterServerPaths } from '../../lib/trust/paths.js';
import { defaultStateDir } from '../config.js';
import { ExitCode, ExitError } from '../exit.js';

export interface InitOptions {
  dir?: string;
  natsHost?: string[];
  natsListen?: string;
  natsPort?: string;
  coordinatorHost?: string[];
  coordinatorPort?: string;
  natsServer?: string[];
  natsClusterName?: string;
  /** Write cluster configs into the existing trust root instead of making a new one. */
  addCluster?: boolean;
  force?: boolean;
  json?: boolean;
}

const DEFAULT_CLUSTER_PORT = 6222;

/** `--nats-server NAME=HOST[:PORT[:CLUSTER_PORT]]`: one server of a cluster. */
export function parseNatsServer(v: string, natsPort: number): NatsClusterServer {
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]{0,62})=(\[[^\]]+\]|[^:\[\]]+)(?::(\d+))?(?::(\d+))?$/.exec(v.trim());
  if (!m) throw new ExitError(ExitCode.Usage, `--nats-server ${v}: expected NAME=HOST[:PORT[:CLUSTER_PORT]], e.g. nats-1=10.0.0.1 or nats-1=10.0.0.1:4222:6222`);
  const port = m[3] === undefined ? natsPort : portFlag('nats-server', m[3], natsPort);
  const clusterPort = m[4] === undefined ? DEFAULT_CLUSTER_PORT : portFlag('nats-server', m[4], DEFAULT_CLUSTER_PORT);
  return { name: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port, clusterPort };
}


function portFlag(flag: string, v: string | undefined, dflt: number): number {
  const port = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ExitError(ExitCode.Usage, `--${flag} ${v}: expected a port number from 1 to 65535`);
  return port;
}

export async function init(o: InitOptions): Promise<number> {
  const dir = o.dir ?? join(defaultStateDir(), 'trust');
  const port = portFlag('nats-port', o.natsPort, DEFAULT_NATS_PORT);
  const coordinatorPort = portFlag('coordinator-port', o.coordinatorPort, Number(DEFAULT_COORDINATOR_ADDRESS.split(':')[1]));
  const hosts = o.natsHost?.length ? o.natsHost : ['127.0.0.1', 'localhost'];
  const coordinatorHosts = o.coordinatorHost?.length ? o.coordinatorHost : ['127.0.0.1', 'localhost', '::1'];
  const servers = (o.natsServer ?? []).map((v) => parseNatsServer(v, port));
  const natsCluster = servers.length > 0 ? { name: o.natsClusterName ?? 'meshrun', servers } : undefined;
  if (o.addCluster && !natsCluster) throw new ExitError(ExitCode.Usage, '--add-cluster needs the servers: --nats-server NAME=HOST[:PORT[:CLUSTER_PORT]] (3 or more)');
  const p = o.addCluster ? await addNatsCluster(dir, natsCluster!, o.natsHost ?? []) : await initTrustRoot(dir, { natsHosts: hosts, natsListen: o.natsListen ?? '127.0.0.1', natsPort: port, coordinatorHosts, coordinatorPort, natsCluster, force: o.force ?? false });
  const url = (h: string, p: number): string => `tls://${h.includes(':') ? `[${h}]` : h}:${p}`;
  const nats = natsCluster ? servers.map((s) => url(s.host, s.port)).join(',') : url(hosts[0]!, port);
  const natsConfigs = natsCluster ? servers.map((s) => natsClusterServerPaths(p.dir, s.name).config) : [p.natsConfig];
  const replicas = natsCluster ? ` --replicas ${Math.min(3, servers.length)}` : '';
  if (o.json) {
    process.stdout.write(JSON.stringify({ dir: p.dir, natsConfig: natsConfigs[0], natsConfigs, caCert: p.caCert, coordinatorCreds: p.coordinatorCreds, adminConfig: p.adminConfig, nats }) + '\n');
    return ExitCode.Ok;
  }
  process.stdout.write(
    [
      o.addCluster ? `nats-server cluster configs added to ${p.dir} (nats-server's certificate now names every server; then meshrun store copy, see the README)` : `trust root made in ${p.dir} (secrets 0600; keep this directory on this machine)`,
      ...(natsCluster
        ? [
            `nats-server cluster ${natsCluster.name}: on each server's machine (copy ${p.caCert} and ${join(p.dir, 'nats')} there, same paths, without route-ca-key.pem):`,
            ...servers.map((s, i) => `  ${s.name} (${s.host}): nats-server -c ${natsConfigs[i]}`),
          ]
        : [`  nats-server -c ${p.natsConfig}`]),
      `  meshrun coordinator --nats ${nats} --nats-creds ${p.coordinatorCreds} --nats-ca ${p.caCert} --trust-dir ${p.dir}${replicas}`,
      `the first admin's client config (it holds the admin's key):`,
      `  export MESHRUN_CONFIG=${p.adminConfig}`,
      `nodes join with a token: meshrun node token create, then on the node meshrun agent --join TOKEN (README, Security)`,
      '',
    ].join('\n'),
  );
  return ExitCode.Ok;
}
