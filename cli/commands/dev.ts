// `meshrun dev`: a whole fleet on this machine for trying meshrun out - a local
// nats-server with JetStream, one coordinator and two agents (alpha: role=bastion,
// beta: role=worker) as real daemons - torn down cleanly on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { join } from 'node:path';
import { NATS_INSTALL_HINT, NatsServer, natsServerAvailable } from '../../lib/nats-server.js';
import { freePort } from '../../lib/free-port.js';
import { MeshrunClient } from '../client.js';
import { resolveClientTarget } from '../client-config.js';
import { makeLocalTrust } from '../../lib/trust/local-trust.js';
import { ExitCode, ExitError } from '../exit.js';
import { selfCommand } from '../self.js';
import { followJob } from './logs.js';

export interface DevOptions {
  demo?: boolean;
  port?: string;
  keep?: boolean;
}

export const SAMPLE_JOB = `# A two-stage job: validate on the bastion, then hand off to the worker.
name: hello-fleet
stages:
  - name: validate
    on: { labels: { role: bastion } }
    run:
      command: [sh, -c, 'echo "validating on $MESHRUN_NODE"; echo "stage $MESHRUN_STAGE attempt $MESHRUN_ATTEMPT"']
  - name: body
    on: { labels: { role: worker } }
    timeout: 5m
    run:
      command: [sh, -c, 'for i in 1 2 3; do echo "working on $MESHRUN_NODE ($i/3)"; sleep 1; done']
`;

export async function dev(o: DevOptions): Promise<number> {
  if (!natsServerAvailable()) throw new ExitError(ExitCode.Error, NATS_INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'meshrun-dev-'));
  const children: ChildProcess[] = [];
  let nats: NatsServer | undefined;
  const shutdown = async (): Promise<void> => {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
    await nats?.stop('SIGTERM');
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    // the secured setup users run: a throwaway trust root, TLS everywhere, agents enrolled with join tokens
    const port = await freePort(o.port ? Number(o.port) : 7433);
    const address = `127.0.0.1:${port}`;
    const trust = await makeLocalTrust(join(dir, 'trust'), { natsPort: await freePort(), coordinatorPort: port });
    const p = trust.paths;
    nats = await NatsServer.start({ dir: join(dir, 'nats'), config: p.natsConfig });
    const [node, bin] = selfCommand();
    const daemon = (name: string, args: string[], env: Record<string, string> = {}): void => {
      const out = openSync(join(dir, `${name}.log`), 'a');
      children.push(spawn(node, [bin, ...args], { stdio: ['ignore', out, out], env: { ...process.env, MESHRUN_LOG_LEVEL: 'info', ...env } }));
    };
    daemon('coordinator', ['coordinator', '--nats', nats.url, '--nats-creds', p.coordinatorCreds, '--nats-ca', p.caCert, '--trust-dir', p.dir, '--listen', address, '--state-dir', join(dir, 'coordinator')]);
    const client = new MeshrunClient(resolveClientTarget({ coordinator: address }, { MESHRUN_CONFIG: p.adminConfig }));
    await waitForFleet(client, []);
    for (const [name, role] of [['alpha', 'bastion'], ['beta', 'worker']] as const) {
      const { token } = await client.createJoinToken({ role }, 10 * 60_000, 1);
      // the token goes by environment, never argv (ps shows argv to every user)
      daemon(name, ['agent', '--nats', nats.url, '--coordinator', address, '--node', name, '--state-dir', join(dir, name)], { MESHRUN_JOIN_TOKEN: token });
    }
    await waitForFleet(client, ['alpha', 'beta']);
    writeFileSync(join(dir, 'hello-fleet.yaml'), SAMPLE_JOB);
    // say exactly what to type: `meshrun` when it is on PATH, else this installation's script
    const onPath = (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, 'meshrun')));
    const me = onPath ? 'meshrun' : `node ${bin}`;
    process.stderr.write(
      [
        `meshrun dev fleet is up, secured: nats ${nats.url} (TLS, per-node credentials), coordinator ${address} (TLS, users), agents alpha (role=bastion) and beta (role=worker) enrolled with join tokens`,
        `files, the throwaway trust root and daemon logs: ${dir}`,
        '',
        'in another terminal, as the fleet\'s admin, try:',
        `  export MESHRUN_CONFIG=${p.adminConfig}`,
        `  ${me} whoami`,
        `  ${me} nodes`,
        `  ${me} submit --on alpha --follow -- uname -a`,
        `  ${me} submit --follow ${join(dir, 'hello-fleet.yaml')}`,
        `  ${me} jobs`,
        '',
        o.demo ? 'demo: submitting hello-fleet and following it...' : 'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
    let code: number = ExitCode.Ok;
    if (o.demo) {
      const { job } = await client.submit(`hello-fleet-demo-${Date.now().toString(36)}`, JSON.stringify(parseYaml(SAMPLE_JOB)));
      code = await followJob(client, job.id, { json: false, raw: false });
    } else {
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      process.stderr.write('stopping the dev fleet...\n');
    }
    client.close();
    return code;
  } finally {
    await shutdown();
  }
}

async function waitForFleet(client: MeshrunClient, names: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      await client.ready(1000);
      const nodes = await client.listNodes();
      if (names.every((n) => nodes.some((x) => x.name === n && x.state === 'ready'))) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new ExitError(ExitCode.Error, 'the dev fleet did not come up within 30s; see the daemon logs');
}
