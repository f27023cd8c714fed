// `meshrun install`: the generated systemd units pass `systemd-analyze verify`, the
// agent unit keeps runs alive across restarts, and the config files parse. `install agent
// --join` keeps the token in a 0600 environment file only, and what it writes enrolls a real
// agent with a secured fleet.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { agentConfigSchema, coordinatorConfigSchema } from '../proto/config.js';
import { Daemon, Fleet, runCli, waitFor } from './harness/processes.js';
import { readEnvFile } from './harness/env-file.js';

const root = mkdtempSync(join(tmpdir(), 'meshrun-install-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function verify(...units: string[]): { status: number; out: string } {
  const r = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8' });
  return { status: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

describe('meshrun install', () => {
  it('--dry-run prints both files and writes nothing', async () => {
    const r = await runCli(['install', 'agent', '--dry-run', '--node', 'alpha', '--labels', 'role=bastion']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# /etc/systemd/system/meshrun-agent.service');
    expect(r.stdout).toContain('# /etc/meshrun/agent.yaml');
    expect(r.stdout).toContain('KillMode=process');
  });

  it('writes units that systemd-analyze verify accepts, with the restart semantics meshrun needs', async () => {
    expect((await runCli(['install', 'agent', '--root', root, '--node', 'alpha', '--labels', 'role=bastion,zone=a', '--nats', 'nats://127.0.0.1:4222', '--reserve', 'cpu=1,memory=2G'])).code).toBe(0);
    expect((await runCli(['install', 'coordinator', '--root', root, '--listen', '127.0.0.1:7433'])).code).toBe(0);
    const agentUnit = join(root, 'etc/systemd/system/meshrun-agent.service');
    const coordUnit = join(root, 'etc/systemd/system/meshrun-coordinator.service');
    const v = verify(agentUnit, coordUnit);
    expect(v.status, v.out).toBe(0);
    const a = readFileSync(agentUnit, 'utf8');
    expect(a).toMatch(/^KillMode=process$/m);
    expect(a).toMatch(/^Restart=always$/m);
    expect(a).toMatch(/^RestartSec=500ms$/m);
    expect(a).toMatch(/^ExecStart=\S+ \S+meshrun\.js agent --config \/etc\/meshrun\/agent\.yaml$/m);
    const c = readFileSync(coordUnit, 'utf8');
    expect(c).toMatch(/^Restart=on-failure$/m);
    expect(c).not.toMatch(/KillMode=process/);
    const agentCfg = agentConfigSchema.parse(parse(readFileSync(join(root, 'etc/meshrun/agent.yaml'), 'utf8')));
    expect(agentCfg).toMatchObject({ node: 'alpha', labels: { role: 'bastion', zone: 'a' }, nats: 'nats://127.0.0.1:4222', reserve: { cpu: 1, memory: '2G' } });
    const coordCfg = coordinatorConfigSchema.parse(parse(readFileSync(join(root, 'etc/meshrun/coordinator.yaml'), 'utf8')));
    expect(coordCfg.listen).toBe('127.0.0.1:7433');
    // without --trust-dir: the one meshrun init makes by default, never an unsecured coordinator
    expect(coordCfg).toMatchObject({ trustDir: '/var/lib/meshrun/trust', natsCa: '/var/lib/meshrun/trust/ca.pem', nats: 'tls://127.0.0.1:4222' });
  });

  it('verify would catch a broken unit (the check is real)', () => {
    const bad = join(root, 'broken.service');
    writeFileSync(bad, '[Service]\nExecStart=relative/path/meshrun agent\n');
    expect(verify(bad).status).not.toBe(0);
  });

  it('a config file with a bad field is refused with the field named', async () => {
    const cfg = join(root, 'bad-agent.yaml');
    writeFileSync(cfg, 'node: alpha\nslots: many\n');
    const r = await runCli(['agent', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-agent\.yaml: slots:/);
  });

  it('install coordinator --trust-dir puts the trust root\'s credential, CA and enrollment into the config', async () => {
    const r = await runCli(['install', 'coordinator', '--root', root, '--trust-dir', '/var/lib/meshrun/trust', '--force']);
    expect(r.code, r.stderr).toBe(0);
    const cfg = coordinatorConfigSchema.parse(parse(readFileSync(join(root, 'etc/meshrun/coordinator.yaml'), 'utf8')));
    expect(cfg).toMatchObject({
      nats: 'tls://127.0.0.1:4222',
      natsCreds: '/var/lib/meshrun/trust/coordinator/coordinator.creds',
      natsCa: '/var/lib/meshrun/trust/ca.pem',
      trustDir: '/var/lib/meshrun/trust',
    });
  });

  it('refuses an unknown target', async () => {
    const r = await runCli(['install', 'toaster', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected "agent" or "coordinator"/);
  });
});

/** A token of the right shape (`mrj1.<id>.<secret>.<ca-hash>`) that no coordinator issued. */
function fakeToken(): string {
  return `mrj1.${randomBytes(8).toString('hex')}.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

/** Every file below `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('meshrun install agent --join', () => {
  it('puts the token in a 0600 environment file the unit reads, and nowhere else; the config names the coordinator and the TLS bus', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshrun-install-join-'));
    try {
      const token = fakeToken();
      const r = await runCli(['install', 'agent', '--root', dir, '--node', 'web1', '--join', token, '--coordinator', 'coord.example.net:7433']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(token);
      const unitPath = join(dir, 'etc/systemd/system/meshrun-agent.service');
      const v = verify(unitPath);
      expect(v.status, v.out).toBe(0);
      const unit = readFileSync(unitPath, 'utf8');
      expect(unit).toMatch(/^EnvironmentFile=-\/etc\/meshrun\/agent\.env$/m);
      expect(unit).toMatch(/^ExecStart=\S+ \S+meshrun\.js agent --config \/etc\/meshrun\/agent\.yaml$/m);

      const envPath = join(dir, 'etc/meshrun/agent.env');
      expect(statSync(envPath).mode & 0o777).toBe(0o600);
      expect(readEnvFile(envPath)).toEqual({ MESHRUN_JOIN_TOKEN: token });
      for (const f of filesUnder(dir)) {
        if (f !== envPath) expect(readFileSync(f, 'utf8'), f).not.toContain(token.split('.')[2]);
      }
      const cfg = agentConfigSchema.parse(parse(readFileSync(join(dir, 'etc/meshrun/agent.yaml'), 'utf8')));
      expect(cfg).toMatchObject({ node: 'web1', coordinator: 'coord.example.net:7433', nats: 'tls://coord.example.net:4222', stateDir: '/var/lib/meshrun' });
      expect(cfg.natsCreds, 'the credential enrollment stores in the state dir is used').toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the token from $MESHRUN_JOIN_TOKEN, keeps a given --nats, and --dry-run does not print the token', async () => {
    const token = fakeToken();
    const r = await runCli(['install', 'agent', '--dry-run', '--coordinator', '[fd00::1]:7433', '--nats', 'tls://bus.example.net:4222'], { env: { MESHRUN_JOIN_TOKEN: token } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(token.split('.')[2]);
    expect(r.stdout).toContain('# /etc/meshrun/agent.env (mode 600, holds a secret: not shown)');
    expect(r.stdout).toMatch(/^EnvironmentFile=-\/etc\/meshrun\/agent\.env$/m);
    expect(r.stdout).toMatch(/^coordinator: "?\[fd00::1\]:7433"?$/m);
    expect(r.stdout).toMatch(/^nats: tls:\/\/bus\.example\.net:4222$/m);
  });

  it('--join-file reads the token from a file or standard input (never argv), and refuses an empty one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshrun-install-join-file-'));
    try {
      const token = fakeToken();
      const piped = await runCli(['install', 'agent', '--root', dir, '--node', 'web2', '--join-file', '-', '--coordinator', 'coord.example.net:7433'], { input: `${token}\n` });
      expect(piped.code, piped.stderr).toBe(0);
      expect(readEnvFile(join(dir, 'etc/meshrun/agent.env'))).toEqual({ MESHRUN_JOIN_TOKEN: token });
      expect(readFileSync(join(dir, 'etc/systemd/system/meshrun-agent.service'), 'utf8')).toMatch(/^EnvironmentFile=-\/etc\/meshrun\/agent\.env$/m);
      const file = join(dir, 'token');
      const other = fakeToken();
      writeFileSync(file, `${other}\n`, { mode: 0o600 });
      const fromFile = await runCli(['install', 'agent', '--root', dir, '--force', '--join-file', file, '--coordinator', 'coord.example.net:7433']);
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(readEnvFile(join(dir, 'etc/meshrun/agent.env'))).toEqual({ MESHRUN_JOIN_TOKEN: other });
      writeFileSync(file, '\n');
      const empty = await runCli(['install', 'agent', '--dry-run', '--join-file', file, '--coordinator', 'c:7433']);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toMatch(/--join-file \S+token: empty/);
      const both = await runCli(['install', 'agent', '--dry-run', '--join', token, '--join-file', file, '--coordinator', 'c:7433']);
      expect(both.code).toBe(2);
      expect(both.stderr).toMatch(/--join and --join-file contradict/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed token, a token without --coordinator, and --join for the coordinator', async () => {
    const bad = await runCli(['install', 'agent', '--dry-run', '--join', 'not-a-token', '--coordinator', 'c:7433']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--join: is not a meshrun join token/);
    const noCoord = await runCli(['install', 'agent', '--dry-run', '--join', fakeToken()]);
    expect(noCoord.code).toBe(2);
    expect(noCoord.stderr).toMatch(/--join needs --coordinator host:port/);
    const badCoord = await runCli(['install', 'agent', '--dry-run', '--join', fakeToken(), '--coordinator', 'coord.example.net']);
    expect(badCoord.code).toBe(2);
    expect(badCoord.stderr).toMatch(/--coordinator coord\.example\.net: expected host:port/);
    const coord = await runCli(['install', 'coordinator', '--dry-run', '--join', fakeToken()]);
    expect(coord.code).toBe(2);
    expect(coord.stderr).toMatch(/--join is for install agent/);
  });

  it('what it writes enrolls a real agent with a secured fleet (started as the unit would start it)', async () => {
    let fleet: Fleet | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'meshrun-install-join-'));
    try {
      fleet = await Fleet.start();
      const client = fleet.client();
      let token: string;
      try {
        token = (await client.createJoinToken({ role: 'web' }, 10 * 60_000, 1)).token;
      } finally {
        client.close();
      }
      const stateDir = fleet.agentDir('web1');
      const r = await runCli(['install', 'agent', '--root', dir, '--node', 'web1', '--state-dir', stateDir, '--nats', fleet.nats.url, '--join', token, '--coordinator', fleet.coordinatorAddress]);
      expect(r.code, r.stderr).toBe(0);
      // the unit's ExecStart with its EnvironmentFile's variables
      const env = readEnvFile(join(dir, 'etc/meshrun/agent.env'));
      const agent = new Daemon('agent-web1', ['agent', '--config', join(dir, 'etc/meshrun/agent.yaml')], fleet.dir, env);
      fleet.agents.set('web1', agent);
      await fleet.waitNodesReady(['web1']).catch((err: Error) => {
        throw new Error(`${err.message}\n${fleet!.logs()}`);
      });
      expect((await fleet.nodes()).find((n) => n.name === 'web1')!.labels, 'the token\'s labels').toEqual({ role: 'web' });
      expect(statSync(join(stateDir, 'nats.creds')).mode & 0o777).toBe(0o600);
      expect(agent.log()).not.toContain(token.split('.')[2]);
      // a restart (the unit's Restart=always) uses the stored credential: the used-up token is not spent again
      await agent.kill('SIGTERM');
      agent.restart();
      await waitFor('web1 back after a restart', async () => (await fleet!.nodes()).some((n) => n.name === 'web1' && n.state === 'ready') && /agent registered on the bus/.test(agent.log().split('SIGTERM received').pop() ?? ''), 20_000, 200);
      expect(agent.alive).toBe(true);
    } finally {
      await fleet?.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
