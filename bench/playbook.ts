// Playbook stage overhead: a 1-task playbook as a meshrun stage (submit -> terminal, as the client
// sees it) beside the same ansible-playbook run directly, in turn, in the same run: once plain,
// once with meshrun's events callback and environment (what the agent execs). The runner files
// split the stage's time into: accepted by the agent, prepared (workspace fetched and unpacked,
// vars file, wrapper) and started, ansible-playbook itself, and its end seen by the client.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildPlaybookCommand } from '../agent/ansible/playbook-command.js';
import { Limits } from '../lib/limits.js';
import { packWorkspace } from '../lib/workspace/index.js';
import { BenchFleet } from './dispatch.js';
import { percentile, row, SkipSection, type BenchContext, type Row, type Section } from './report.js';

const RUNS = Number(process.env.MESHRUN_BENCH_PLAYBOOK_RUNS ?? 8);
const PLAYBOOK = '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: the one task\n      command: "true"\n';

export const playbookSection: Section = {
  name: 'playbook',
  async run(ctx: BenchContext): Promise<Row[]> {
    const probe = await execa('ansible-playbook', ['--version'], { reject: false });
    if (probe.exitCode !== 0) throw new SkipSection('ansible-playbook is not installed');
    const ws = mkdtempSync(join(tmpdir(), 'meshrun-bench-playbook-'));
    writeFileSync(join(ws, 'site.yml'), PLAYBOOK);
    ctx.progress('playbook: starting nats-server, coordinator and 2 agents');
    const fleet = await BenchFleet.start(ctx.root, [
      { node: 'bench-a', labels: 'bench=1', slots: 4 },
      { node: 'bench-b', labels: 'bench=1', slots: 4 },
    ]);
    try {
      const packed = await packWorkspace(ws, { maxBytes: Limits.workspaceMaxBytes });
      await fleet.client.putBlob(packed.archive, packed.sha256);
      const spec = JSON.stringify({ name: 'bench-playbook', stages: [{ name: 'run', on: { labels: { bench: '1' } }, run: { playbook: 'site.yml' } }] });
      // what the agent execs, in the workspace itself
      const cmd = buildPlaybookCommand({ playbook: 'site.yml' }, { cwd: ws, eventsFile: join(ws, 'run.events.jsonl') });
      const env = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_RETRY_FILES_ENABLED: 'False' };
      const plainArgs = ['--inventory=localhost,', '--connection=local', '--', join(ws, 'site.yml')];
      const direct = async (args: string[], e: Record<string, string>): Promise<number> => {
        const t0 = performance.now();
        const r = await execa('ansible-playbook', args, { cwd: ws, env: e, reject: false });
        if (r.exitCode !== 0) throw new Error(`ansible-playbook exited ${r.exitCode}: ${r.stdout.slice(-500)}`);
        return performance.now() - t0;
      };
      const plain: number[] = [];
      const withCallback: number[] = [];
      const e2e: number[] = [];
      const accepted: number[] = [];
      const prepared: number[] = [];
      const running: number[] = [];
      const reported: number[] = [];
      const meshrun = async (id: string): Promise<void> => {
        const t0 = Date.now();
        const r = await fleet.client.submit(id, spec, packed.sha256);
        if (!r.created) throw new Error(`job ${id} already existed`);
        const j = await fleet.watchUntilTerminal(id, 60_000);
        const t1 = Date.now();
        if (j.state !== 'succeeded') throw new Error(`job ${id} ${j.state}: ${j.reason}`);
        if (!id.startsWith('p-')) return;
        e2e.push(t1 - t0);
        const m = fleet.runMeta(id);
        if (m?.startedAt != null && m.endedAt != null) {
          accepted.push(m.createdAt - t0);
          prepared.push(m.startedAt - m.createdAt);
          running.push(m.endedAt - m.startedAt);
          reported.push(t1 - m.endedAt);
        }
      };
      // warm-up: the first runs pay for Python's bytecode cache and the page cache
      await direct(plainArgs, env);
      await direct(cmd.argv.slice(1), { ...env, ...cmd.env });
      await meshrun('warm-0');
      ctx.progress(`playbook: ${RUNS} rounds of ansible-playbook (plain, with meshrun's callback) and the same as a meshrun stage, in turn`);
      for (let i = 0; i < RUNS; i++) {
        plain.push(await direct(plainArgs, env));
        withCallback.push(await direct(cmd.argv.slice(1), { ...env, ...cmd.env }));
        await meshrun(`p-${i}`);
      }
      const p = (xs: number[]): number => percentile(xs, 50);
      return [
        row(`ansible-playbook, 1 task, direct p50 (n=${RUNS})`, p(plain), 'ms'),
        row(`  the same with meshrun's events callback and env p50`, p(withCallback), 'ms', p(plain), 'vs direct'),
        row(`meshrun stage submit -> terminal (WatchJob) p50 (n=${e2e.length})`, p(e2e), 'ms', p(plain), 'vs direct'),
        row(`  overhead over the direct run (p50 - p50)`, p(e2e) - p(plain), 'ms'),
        row(`  overhead over the direct run with the callback (p50 - p50)`, p(e2e) - p(withCallback), 'ms'),
        row(`  of which submit -> agent wrote run .json p50`, p(accepted), 'ms'),
        row(`  of which .json -> process started (workspace fetched, unpacked; wrapper) p50`, p(prepared), 'ms'),
        row(`  of which process started -> ended (ansible-playbook under meshrun) p50`, p(running), 'ms', p(withCallback), 'vs direct with the callback'),
        row(`  of which process ended -> client saw terminal p50`, p(reported), 'ms'),
      ];
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      await fleet.destroy();
      rmSync(ws, { recursive: true, force: true });
    }
  },
};
