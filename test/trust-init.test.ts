// `meshrun init` end to end: the trust root it writes starts a real nats-server that only
// speaks TLS and only to the fleet's credentials; the coordinator runs on its credential,
// and an agent holding a node credential (least privilege, enforced by the server) runs a job.
import { natsTls } from '../lib/nats.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { issueUser } from '../lib/trust/nats-jwt.js';
import { loadNatsTrust, trustRootPaths } from '../lib/trust/trust-root.js';
import { createCa } from '../lib/trust/x509.js';
import { nodePermissions } from '../proto/permissions.js';
import { requireTools } from './fleet/netns.js';
import { Daemon, freePort, runCli, waitFor } from './harness/processes.js';

const cap = requireTools(['nats-server']);

let dir: string;
let nats: ChildProcess | undefined;
const daemons: Daemon[] = [];

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.kill('SIGKILL').catch(() => undefined);
  nats?.kill('SIGKILL');
  nats = undefined;
  rmSync(dir, { recursive: true, force: true });
});

interface SecureBus {
  trustDir: string;
  paths: ReturnType<typeof trustRootPaths>;
  url: string;
  env: Record<string, string>;
  coordinator: Daemon;
  natsLog(): string;
}

/** meshrun init, then nats-server with the config it wrote, then a coordinator on its credential. */
async function secureBus(): Promise<SecureBus> {
  const trustDir = join(dir, 'trust');
  const natsPort = await freePort();
  // an address only, no DNS name: daemons dial it by IP and the certificate must name that IP
  const init = await runCli(['init', '--dir', trustDir, '--nats-port', String(natsPort), '--nats-host', '127.0.0.1']);
  expect(init.code, init.stderr).toBe(0);
  const paths = trustRootPaths(trustDir);
  let natsLog = '';
  nats = spawn('nats-server', ['-c', paths.natsConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
  nats.stderr!.on('data', (d: Buffer) => (natsLog += d.toString()));
  await waitFor('nats-server ready', () => natsLog.includes('Server is ready'), 10_000);
  const url = `tls://127.0.0.1:${natsPort}`;
  const grpcPort = await freePort();
  const args = ['coordinator', '--nats', url, '--nats-creds', paths.coordinatorCreds, '--nats-ca', paths.caCert, '--listen', `127.0.0.1:${grpcPort}`, '--state-dir', join(dir, 'coord-state')];
  const coordinator = new Daemon('coordinator', [...args, '--trust-dir', trustDir], dir);
  daemons.push(coordinator);
  await waitFor('coordinator listening', () => coordinator.log().includes('coordinator listening'), 20_000);
  return { trustDir, paths, url, env: { MESHRUN_COORDINATOR: `127.0.0.1:${grpcPort}`, MESHRUN_CONFIG: paths.adminConfig }, coordinator, natsLog: () => natsLog };
}

describe.skipIf(!cap.ok)(`meshrun init (${cap.reason})`, () => {
  it('makes a trust root whose nats-server refuses plain, anonymous and foreign clients; coordinator and a node credential run a job', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-init-'));
    const bus = await secureBus();
    const { paths: p, url, env, trustDir } = bus;
    for (const secret of [p.trust, p.caKey, p.natsKey, p.natsConfig, p.coordinatorCreds, p.coordinatorSystemCreds, p.grpcKey, p.adminConfig, p.usersBootstrap]) expect((statSync(secret).mode & 0o777).toString(8), secret).toBe('600');
    const again = await runCli(['init', '--dir', trustDir]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already has a trust root/);
    const natsPort = Number(url.split(':').pop());

    // no credential, no TLS, another CA: all refused
    await expect(connect({ servers: url, tls: natsTls(url, p.caCert), reconnect: false })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: `nats://127.0.0.1:${natsPort}`, tls: null, reconnect: false } as never)).rejects.toThrow();
    const otherCa = join(dir, 'other-ca.pem');
    writeFileSync(otherCa, (await createCa({ name: 'not the fleet', validDays: 1 })).certPem);
    await expect(connect({ servers: url, tls: natsTls(url, otherCa), reconnect: false })).rejects.toThrow();

    // a node credential, as enrollment will issue it: only its own subjects
    const nodeCreds = join(dir, 'alpha.creds');
    writeFileSync(nodeCreds, (await issueUser(loadNatsTrust(trustDir), 'node-alpha', nodePermissions('alpha'))).creds, { mode: 0o600 });
    const agent = new Daemon('agent-alpha', ['agent', '--nats', url, '--nats-creds', nodeCreds, '--nats-ca', p.caCert, '--node', 'alpha', '--state-dir', join(dir, 'alpha-state')], dir);
    daemons.push(agent);

    await waitFor('alpha registered', async () => /alpha\s+ready/.test((await runCli(['nodes'], { env })).stdout), 20_000, 300);
    const run = await runCli(['submit', '--on', 'alpha', '--id', 'secure-1', '-f', '--', 'sh', '-c', 'echo hello from $MESHRUN_NODE'], { env, timeoutMs: 30_000 });
    expect(run.code, `${run.stderr}\n${agent.log().slice(-3000)}`).toBe(0);
    expect(run.stdout).toBe('hello from alpha\n');
    expect(bus.natsLog()).not.toMatch(/Permissions Violation/);
  });
});

describe.skipIf(!cap.ok)(`node enrollment with join tokens (${cap.reason})`, () => {
  it('a token enrolls a node once (its key made on the node), with the token\'s labels; expired, used-up and forged tokens are refused', async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-enroll-'));
    const { url, env, coordinator } = await secureBus();

    const made = await runCli(['node', 'token', 'create', '--labels', 'role=web', '--ttl', '10m', '--uses', '1'], { env });
    expect(made.code, made.stderr).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^mrj1\.[a-f0-9]{16}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);

    const agentArgs = (node: string, t: string): string[] => ['agent', '--nats', url, '--join', t, '--node', node, '--state-dir', join(dir, `${node}-state`)];
    const alpha = new Daemon('agent-alpha', agentArgs('alpha', token), dir, env);
    daemons.push(alpha);
    await waitFor('alpha enrolled and registered', async () => /alpha\s+ready\s+role=web/.test((await runCli(['nodes'], { env })).stdout), 20_000, 300);
    const credsFile = join(dir, 'alpha-state', 'nats.creds');
    expect((statSync(credsFile).mode & 0o777).toString(8)).toBe('600');
    const run = await runCli(['submit', '--label', 'role=web', '--id', 'enrolled-1', '-f', '--', 'sh', '-c', 'echo ran on $MESHRUN_NODE'], { env, timeoutMs: 30_000 });
    expect(run.code, `${run.stderr}\n${alpha.log().slice(-2000)}`).toBe(0);
    expect(run.stdout).toBe('ran on alpha\n');

    // node remove revokes its credential: the server disconnects it and it cannot come back
    const before = alpha.log().length;
    const t0 = Date.now();
    const removed = await runCli(['node', 'remove', 'alpha'], { env });
    expect(removed.code, removed.stderr).toBe(0);
    await waitFor('alpha disconnected by the server', () => /"status":"disconnect"/.test(alpha.log().slice(before)), 10_000, 20);
    console.info(`trust: node remove -> alpha disconnected within ${Date.now() - t0} ms (including the CLI's start-up)`);
    await new Promise((r) => setTimeout(r, 4000));
    expect((await runCli(['nodes'], { env })).stdout).not.toMatch(/alpha/);
    expect(alpha.log().slice(before)).not.toMatch(/"status":"reconnect"/);
    expect(coordinator.log()).toMatch(/node credential revoked/);
    // re-enrolling takes a new token: the same node, restarted with one, is back and runs work
    await alpha.kill('SIGKILL');
    const fresh = (await runCli(['node', 'token', 'create', '--labels', 'role=web'], { env })).stdout.trim();
    const again = new Daemon('agent-alpha-2', agentArgs('alpha', fresh), dir, env);
    daemons.push(again);
    await waitFor('alpha re-enrolled', async () => /alpha\s+ready/.test((await runCli(['nodes'], { env })).stdout), 20_000, 300);
    const rerun = await runCli(['submit', '--on', 'alpha', '--id', 'enrolled-2', '-f', '--', 'true'], { env, timeoutMs: 30_000 });
    expect(rerun.code, rerun.stderr).toBe(0);

    // the same token again: used up; nothing is enrolled and the agent exits with the reason
    const reused = await runCli(agentArgs('beta', token), { env, timeoutMs: 20_000 });
    expect(reused.code).not.toBe(0);
    expect(reused.stderr).toMatch(/join token refused: used up/);
    // a forged secret for a real token id, and a token that expired
    const parts = token.split('.');
    const forged = [parts[0], parts[1], 'A'.repeat(43), parts[3]].join('.');
    expect((await runCli(agentArgs('gamma', forged), { env, timeoutMs: 20_000 })).stderr).toMatch(/join token refused: wrong secret/);
    const short = (await runCli(['node', 'token', 'create', '--ttl', '1s'], { env })).stdout.trim();
    await new Promise((r) => setTimeout(r, 1500));
    expect((await runCli(agentArgs('delta', short), { env, timeoutMs: 20_000 })).stderr).toMatch(/join token refused: expired/);
    expect((await runCli(agentArgs('eps', 'not-a-token'), { env, timeoutMs: 20_000 })).stderr).toMatch(/--join: is not a meshrun join token/);
    // a token whose CA pin is not the coordinator's: the node refuses to send it there at all
    const pinned = (await runCli(['node', 'token', 'create'], { env })).stdout.trim().split('.');
    const wrongPin = [...pinned.slice(0, 3), 'B'.repeat(43)].join('.');
    expect((await runCli(agentArgs('zeta', wrongPin), { env, timeoutMs: 20_000 })).stderr).toMatch(/not vouched for by the CA this join token names: refusing to send the token/);
    expect(coordinator.log()).not.toMatch(/"node":"zeta"/);
    for (const n of ['beta', 'gamma', 'delta', 'eps', 'zeta']) expect(existsSync(join(dir, `${n}-state`, 'nats.creds')), n).toBe(false);
    expect((await runCli(['nodes'], { env })).stdout).not.toMatch(/beta|gamma|delta/);

    // a token's labels bind the node: advertising others gets it no other work
    const bound = (await runCli(['node', 'token', 'create', '--labels', 'role=web'], { env })).stdout.trim();
    const theta = new Daemon('agent-theta', [...agentArgs('theta', bound), '--labels', 'role=db'], dir, env);
    daemons.push(theta);
    await waitFor('theta registered with its token\'s labels', async () => /theta\s+ready\s+role=web/.test((await runCli(['nodes'], { env })).stdout), 20_000, 300);
    expect(coordinator.log()).toMatch(/node advertises other labels than its join token bound it to/);
    const db = await runCli(['submit', '--label', 'role=db', '--id', 'db-1', '--', 'true'], { env });
    expect(db.code, db.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(JSON.parse((await runCli(['job', 'db-1', '--json'], { env })).stdout).state, 'no node may take role=db work').toBe('queued');
  }, 240_000);
});
