// contrib/ansible's meshrun_agent role, run by a real ansible-playbook against this machine
// (connection: local, everything below a scratch root, systemd not managed since it is not
// PID 1 here): it installs the package `npm pack` made, writes the unit `meshrun install`
// maintains (systemd-analyze verify passes), hands over the join token without putting it in
// argv or Ansible's output, and the agent started as the unit starts it joins the fleet.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Fleet, ROOT, waitFor } from './harness/processes.js';
import { npmPack } from './harness/package.js';
import { readEnvFile } from './harness/env-file.js';

const dir = mkdtempSync(join(tmpdir(), 'meshrun-ansible-role-'));
let fleet: Fleet | undefined;
let agent: ChildProcess | undefined;
afterAll(async () => {
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent!.once('exit', r));
    agent.kill('SIGKILL');
    await exited;
  }
  await fleet?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function playbook(vars: Record<string, unknown>): { code: number; out: string } {
  const varsFile = join(dir, 'vars.json');
  writeFileSync(varsFile, JSON.stringify(vars), { mode: 0o600 });
  const book = join(dir, 'site.yml');
  writeFileSync(book, '- hosts: localhost\n  connection: local\n  gather_facts: false\n  roles:\n    - meshrun_agent\n');
  const r = spawnSync('ansible-playbook', ['-i', 'localhost,', book, '-e', `@${varsFile}`], {
    encoding: 'utf8',
    cwd: dir,
    timeout: 300_000,
    env: { ...process.env, ANSIBLE_ROLES_PATH: join(ROOT, 'contrib/ansible/roles'), ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_PYTHON_INTERPRETER: 'auto_silent' },
  });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

describe('contrib/ansible meshrun_agent role', () => {
  it('installs the packed meshrun, writes a verified unit, and the agent it sets up joins the fleet', async () => {
    fleet = await Fleet.start();
    const f = fleet;
    const client = f.client();
    let token: string;
    try {
      token = (await client.createJoinToken({ role: 'web' }, 10 * 60_000, 1)).token;
    } finally {
      client.close();
    }
    const root = join(dir, 'root');
    mkdirSync(join(root, 'var/tmp'), { recursive: true });
    const prefix = join(dir, 'prefix');
    const stateDir = f.agentDir('web1');
    const r = playbook({
      meshrun_package_file: npmPack(dir),
      meshrun_npm_prefix: prefix,
      meshrun_install_root: root,
      meshrun_manage_service: false,
      meshrun_coordinator: f.coordinatorAddress,
      meshrun_join_token: token,
      meshrun_nats: f.nats.url,
      meshrun_node_name: 'web1',
      meshrun_state_dir: stateDir,
      meshrun_slots: 2,
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out, 'the token is never in Ansible\'s output').not.toContain(token.split('.')[2]);
    expect(r.out).toMatch(/TASK \[meshrun_agent : Verify the unit\][ *]*\nok: \[localhost\]/);
    expect(r.out).toMatch(/TASK \[meshrun_agent : Install meshrun with npm\][ *]*\nchanged: \[localhost\]/);
    expect(r.out).toMatch(/PLAY RECAP.*\n.*failed=0/);

    const unitPath = join(root, 'etc/systemd/system/meshrun-agent.service');
    const unit = readFileSync(unitPath, 'utf8');
    expect(unit).toMatch(/^KillMode=process$/m);
    expect(unit).toMatch(/^EnvironmentFile=-\/etc\/meshrun\/agent\.env$/m);
    const exec = /^ExecStart=(\S+) (\S+) (agent --config \/etc\/meshrun\/agent\.yaml)$/m.exec(unit);
    expect(exec, unit).not.toBeNull();
    expect(exec![2], 'the unit runs the installed package').toBe(join(prefix, 'lib/node_modules/meshrun/bin/meshrun.js'));
    const envFile = join(root, 'etc/meshrun/agent.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readEnvFile(envFile)).toEqual({ MESHRUN_JOIN_TOKEN: token });
    expect(readFileSync(join(root, 'etc/meshrun/agent.yaml'), 'utf8')).not.toContain(token.split('.')[2]);

    // started as systemd would: ExecStart with the EnvironmentFile's variables (the config below the scratch root)
    const log = join(dir, 'agent.log');
    const fd = openSync(log, 'a');
    agent = spawn(exec![1]!, [exec![2]!, 'agent', '--config', join(root, 'etc/meshrun/agent.yaml')], { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...readEnvFile(envFile) } });
    closeSync(fd);
    const bin = join(prefix, 'bin/meshrun');
    const env = { ...process.env, MESHRUN_COORDINATOR: f.coordinatorAddress, MESHRUN_CONFIG: f.trust.paths.adminConfig };
    const nodes = await waitFor('web1 ready in meshrun nodes', () => {
      const n = spawnSync(bin, ['nodes', '--json'], { encoding: 'utf8', env });
      if (n.status !== 0) return undefined;
      const list = JSON.parse(n.stdout) as { name: string; state: string; labels: Record<string, string>; slots: number }[];
      return list.some((x) => x.name === 'web1' && x.state === 'ready') ? list : undefined;
    }, 30_000, 300).catch((err: Error) => {
      throw new Error(`${err.message}\n${readFileSync(log, 'utf8').slice(-3000)}`);
    });
    const web1 = nodes.find((n) => n.name === 'web1')!;
    expect(web1.labels, 'the join token\'s labels').toEqual({ role: 'web' });
    expect(statSync(join(stateDir, 'nats.creds')).mode & 0o777).toBe(0o600);
    expect(readFileSync(log, 'utf8')).not.toContain(token.split('.')[2]);

    // a second run installs nothing again and keeps the config
    const again = playbook({
      meshrun_npm_prefix: prefix,
      meshrun_install_root: root,
      meshrun_manage_service: false,
      meshrun_coordinator: f.coordinatorAddress,
      meshrun_join_token: token,
      meshrun_nats: f.nats.url,
      meshrun_node_name: 'web1',
      meshrun_state_dir: stateDir,
    });
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/TASK \[meshrun_agent : Install meshrun with npm\][ *]*\nskipping: \[localhost\]/);
    // the unit is rewritten (the installed meshrun's own); the config and the token file are kept
    expect(again.out).toMatch(/"wrote \S+\/etc\/systemd\/system\/meshrun-agent\.service"/);
    expect(again.out).not.toMatch(/"wrote \S+agent\.(yaml|env)"/);
  }, 300_000);

  it('refuses to run without a coordinator or a token, saying which', () => {
    const r = playbook({ meshrun_install_root: join(dir, 'root2'), meshrun_manage_service: false });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/meshrun_coordinator .* and meshrun_join_token .* are required/);
  }, 120_000);
});
