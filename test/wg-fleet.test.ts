// The namespace fleet harness itself: machines reach each other over the bridge, spawned
// processes die on destroy(), and the exit hook cleans up when a process never calls it.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { createFleet, requireNetns, requireTools, type Fleet } from './fleet/netns.js';

const cap = await requireNetns(['ping', 'sleep']);
const netnsList = async (): Promise<string> => (await execa('ip', ['netns', 'list'])).stdout;

describe('capability gate', () => {
  it('skips with a reason outside CI and fails in CI', () => {
    const saved = process.env.CI;
    try {
      delete process.env.CI;
      expect(requireTools(['meshrun-no-such-tool'])).toEqual({ ok: false, reason: 'missing tools: meshrun-no-such-tool' });
      process.env.CI = 'true';
      expect(() => requireTools(['meshrun-no-such-tool'])).toThrow(/CI is set/);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
});

describe.skipIf(!cap.ok)(`fleet harness (${cap.reason})`, () => {
  let fleet: Fleet | undefined;
  afterAll(async () => {
    await fleet?.destroy();
  });

  it('builds machines on a private bridge, outside the root namespace', async () => {
    fleet = await createFleet({ prefix: 'mr', count: 2 });
    const [a, b] = fleet.machines;
    expect(a!.netns).toBe(`${fleet.id}-n0`);
    expect(a!.underlayIp).toMatch(/^10\.213\.\d+\.1$/);
    expect((await a!.exec(['ping', '-c', '1', '-W', '2', b!.underlayIp])).exitCode).toBe(0);
    expect((await a!.exec(['ping', '-c', '1', '-W', '1', '127.0.0.1'])).exitCode).toBe(0);
    const { stdout } = await execa('ip', ['-o', 'link', 'show']);
    expect(stdout).not.toMatch(/\bbr0\b|\bp0@/); // the root namespace is untouched
  });

  it('kills spawned processes and processes started inside the namespaces on destroy()', async () => {
    const [a, b] = fleet!.machines;
    const child = a!.spawn(['sleep', '600']);
    await b!.exec(['sh', '-c', 'sleep 600 >/dev/null 2>&1 &']);
    const pids = (await execa('ip', ['netns', 'pids', b!.netns])).stdout.split('\n').filter(Boolean);
    expect(pids.length).toBeGreaterThan(0);
    await fleet!.destroy();
    await fleet!.destroy();
    expect((await child).isTerminated).toBe(true);
    for (const pid of pids) expect(existsSync(`/proc/${pid}/cmdline`) && !(await isZombie(pid))).toBe(false);
    expect(await netnsList()).not.toContain(fleet!.id);
  });

  it.each([['--exit'], ['--wait']])('a process that never calls destroy() still cleans up (%s)', async (mode) => {
    const script = fileURLToPath(new URL('./fleet/exit-hook-child.ts', import.meta.url));
    const viteNode = fileURLToPath(new URL('../node_modules/vite-node/vite-node.mjs', import.meta.url));
    // node directly (not npx), so SIGTERM reaches the process that installed the hook.
    const child = execa(process.execPath, [viteNode, script, mode], { reject: false, buffer: { stdout: false } });
    let id = '';
    try {
      id = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
        child.once('exit', () => reject(new Error('child exited before printing its fleet id')));
      });
      expect(await netnsList()).toContain(id);
      if (mode === '--wait') child.kill('SIGTERM');
      const res = await child;
      if (mode === '--wait') expect(res.signal).toBe('SIGTERM');
      expect(await netnsList()).not.toContain(id);
    } finally {
      child.kill('SIGKILL');
      await forceClean(id);
    }
  });
});

/** Only if the hook under test failed: remove the child's namespaces so nothing leaks. */
async function forceClean(id: string): Promise<void> {
  if (!id) return;
  for (const ns of (await netnsList()).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`${id}-`))) {
    const pids = (await execa('ip', ['netns', 'pids', ns], { reject: false })).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await execa('ip', ['netns', 'del', ns], { reject: false });
  }
}

async function isZombie(pid: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')));
}
