// `meshrun install`: the generated systemd units pass `systemd-analyze verify`, the
// agent unit keeps runs alive across restarts, and the config files parse.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { agentConfigSchema, coordinatorConfigSchema } from '../proto/config.js';
import { runCli } from './harness/processes.js';

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
    expect((await runCli(['install', 'agent', '--root', root, '--node', 'alpha', '--labels', 'role=bastion,zone=a', '--nats', 'nats://127.0.0.1:4222'])).code).toBe(0);
    expect((await runCli(['install', 'coordinator', '--root', root, '--listen', '127.0.0.1:7433'])).code).toBe(0);
    const agentUnit = join(root, 'etc/systemd/system/meshrun-agent.service');
    const coordUnit = join(root, 'etc/systemd/system/meshrun-coordinator.service');
    const v = verify(agentUnit, coordUnit);
    expect(v.status, v.out).toBe(0);
    const a = readFileSync(agentUnit, 'utf8');
    expect(a).toMatch(/^KillMode=process$/m);
    expect(a).toMatch(/^Restart=on-failure$/m);
    expect(a).toMatch(/^ExecStart=\S+ \S+meshrun\.js agent --config \/etc\/meshrun\/agent\.yaml$/m);
    const c = readFileSync(coordUnit, 'utf8');
    expect(c).toMatch(/^Restart=on-failure$/m);
    expect(c).not.toMatch(/KillMode=process/);
    const agentCfg = agentConfigSchema.parse(parse(readFileSync(join(root, 'etc/meshrun/agent.yaml'), 'utf8')));
    expect(agentCfg).toMatchObject({ node: 'alpha', labels: { role: 'bastion', zone: 'a' }, nats: 'nats://127.0.0.1:4222' });
    const coordCfg = coordinatorConfigSchema.parse(parse(readFileSync(join(root, 'etc/meshrun/coordinator.yaml'), 'utf8')));
    expect(coordCfg.listen).toBe('127.0.0.1:7433');
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
