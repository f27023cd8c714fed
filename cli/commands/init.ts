// `meshrun init`: makes the fleet's trust root on the coordinator's machine (NATS operator
// and account keys, a CA, nats-server's certificate and configuration, the coordinator's
// credentials) and says how to start nats-server and the coordinator with it.
import { join } from 'node:path';
import { DEFAULT_NATS_PORT } from '../../proto/config.js';
import { initTrustRoot } from '../../lib/trust/trust-root.js';
import { defaultStateDir } from '../config.js';
import { ExitCode, ExitError } from '../exit.js';

export interface InitOptions {
  dir?: string;
  natsHost?: string[];
  natsListen?: string;
  natsPort?: string;
  force?: boolean;
  json?: boolean;
}


export async function init(o: InitOptions): Promise<number> {
  const dir = o.dir ?? join(defaultStateDir(), 'trust');
  const port = o.natsPort === undefined ? DEFAULT_NATS_PORT : Number(o.natsPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ExitError(ExitCode.Usage, `--nats-port ${o.natsPort}: expected a port number from 1 to 65535`);
  }
  const hosts = o.natsHost?.length ? o.natsHost : ['127.0.0.1', 'localhost'];
  const p = await initTrustRoot(dir, { natsHosts: hosts, natsListen: o.natsListen ?? '127.0.0.1', natsPort: port, force: o.force ?? false });
  const nats = `tls://${hosts[0]}:${port}`;
  if (o.json) {
    process.stdout.write(JSON.stringify({ dir: p.dir, natsConfig: p.natsConfig, caCert: p.caCert, coordinatorCreds: p.coordinatorCreds, nats }) + '\n');
    return ExitCode.Ok;
  }
  process.stdout.write(
    [
      `trust root made in ${p.dir} (secrets 0600; keep this directory on this machine)`,
      `  nats-server -c ${p.natsConfig}`,
      `  meshrun coordinator --nats ${nats} --nats-creds ${p.coordinatorCreds} --nats-ca ${p.caCert}`,
      `agents need ${p.caCert} and a credential of their own (node enrollment comes next; see the README's Security section)`,
      '',
    ].join('\n'),
  );
  return ExitCode.Ok;
}
