// `npm pack` makes a package that works once installed globally: its `meshrun` prints its
// version and help, reads a real fleet and runs a job there, and the package holds what the
// daemons load beside their modules (the run wrapper, the Ansible callback plugin), and none
// of the sources, tests or benches.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Fleet, ROOT } from './harness/processes.js';
import { npmInstallGlobal, npmPack } from './harness/package.js';

const dir = mkdtempSync(join(tmpdir(), 'meshrun-pack-'));
let fleet: Fleet | undefined;
afterAll(async () => {
  await fleet?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function run(bin: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  // a PATH without this checkout's tools: the installed package must stand on its own
  const r = spawnSync(bin, args, { encoding: 'utf8', cwd: dir, env: { PATH: `${join(process.execPath, '..')}:/usr/bin:/bin`, HOME: dir, ...env }, timeout: 60_000 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe('npm pack', () => {
  it('builds before packing, and packs the built CLI without sources, tests, benches or source maps', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepack).toBe('npm run build');
    const tarball = npmPack(dir);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['bin/meshrun.js', 'dist/cli/index.js', 'dist/cli-bundle/index.js', 'dist/agent/runner/wrapper.js', 'dist/coordinator/metrics.js', 'agent/ansible/meshrun_events.py', 'proto/meshrun.proto', 'README.md', 'docs/metrics.md', 'contrib/ansible/roles/meshrun_agent/tasks/main.yml']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /\.ts$|\.map$|^test\/|^dist\/bench\/|^node_modules\//.test(f))).toEqual([]);
  }, 120_000);

  it('installs globally; the installed meshrun answers --version and --help, lists a fleet\'s nodes and runs a job there', async () => {
    const tarball = npmPack(dir);
    const { bin, prefix } = npmInstallGlobal(tarball, join(dir, 'prefix'));
    expect(existsSync(join(prefix, 'lib/node_modules/meshrun/dist/cli/index.js'))).toBe(true);
    const version = run(bin, ['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const help = run(bin, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^\s+coordinator\b/m);
    expect(help.stdout).toMatch(/^\s+submit\b/m);

    fleet = await Fleet.start({ agents: [{ node: 'alpha' }] });
    const env = { MESHRUN_COORDINATOR: fleet.coordinatorAddress, MESHRUN_CONFIG: fleet.trust.paths.adminConfig };
    const nodes = run(bin, ['nodes', '--json'], env);
    expect(nodes.code, nodes.stderr).toBe(0);
    expect((JSON.parse(nodes.stdout) as { name: string; state: string }[]).map((n) => [n.name, n.state])).toEqual([['alpha', 'ready']]);
    const job = run(bin, ['submit', '--on', 'alpha', '--follow', '--', 'sh', '-c', 'echo hello from $MESHRUN_NODE'], env);
    expect(job.code, job.stderr).toBe(0);
    expect(job.stdout).toContain('hello from alpha');
  }, 300_000);
});
