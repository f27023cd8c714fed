// `meshrun init`: makes the fleet's trust root on the coordinator's machine (NATS operator
// and account keys, a CA, nats-server's certificate and configuration, the coordinator's
// credentials) and says how to start nats-server and the coordinator with it.
import { join } from 'node:path';
import { DEFAULT_COORDINATOR_ADDRESS, DEFAULT_NATS_PORT } from '../../proto/config.js';
import { initTrustRoot } from '../../lib/trust/trust-root.js';
import { defaultStateDir } from '../config.js';
import { ExitCode, ExitError } from '../exit.js';

export interface InitOptions {
  dir?: string;
  natsHost?: string[];
  natsListen?: string;
  natsPort?: string;
  coordinatorHost?: string[];
  coordinatorPort?: string;
  force?: boolean;
  json?: boolean;
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
  const p = await initTrustRoot(dir, { natsHosts: hosts, natsListen: o.natsListen ?? '127.0.0.1', natsPort: port, coordinatorHosts, coordinatorPort, force: o.force ?? false });
  const nats = `tls://${hosts[0]}:${port}`;
  if (o.json) {
    process.stdout.write(JSON.stringify({ dir: p.dir, natsConfig: p.natsConfig, caCert: p.caCert, coordinatorCreds: p.coordinatorCreds, adminConfig: p.adminConfig, nats }) + '\n');
    return ExitCode.Ok;
  }
  process.stdout.write(
    [
      `trust root made in ${p.dir} (secrets 0600; keep this directory on this machine)`,
      `  nats-server -c ${p.natsConfig}`,
      `  meshrun coordinator --nats ${nats} --nats-creds ${p.coordinatorCreds} --nats-ca ${p.caCert} --trust-dir ${p.dir}`,
      `the first admin's client config (it holds the admin's key):`,
      `  export MESHRUN_CONFIG=${p.adminConfig}`,
      `nodes join with a token: meshrun node token create, then on the node meshrun agent --join TOKEN (README, Security)`,
      '',
    ].join('\n'),
  );
  return ExitCode.Ok;
}
