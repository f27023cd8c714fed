// Failover time: a silent node loss (SIGSTOP of the agent running a long stage: no TCP
// reset, the machine just stops answering) until the replacement attempt's process is
// running on another node (the wrapper's `startedAt` in the attempt-2 runner .json, same
// machine clock). Median, min and max over several trials, shown against the configured
// --down-after (the silence after which a node is declared down): the ratio says how much
// failover adds on top of the detection window it is configured to wait.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../proto/duration.js';
import type { JobMsg } from '../proto/grpc.js';
import { BenchFleet, sleep } from './dispatch.js';
import { percentile, row, type BenchContext, type Row, type Section } from './report.js';

const TRIALS = Number(process.env.MESHRUN_BENCH_FAILOVER_TRIALS ?? 5);
const SUSPECT_AFTER = process.env.MESHRUN_BENCH_SUSPECT_AFTER ?? '1.5s';
const DOWN_AFTER = process.env.MESHRUN_BENCH_DOWN_AFTER ?? '5s';

export async function pollUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
  } catch {
    return undefined; // being written
  }
}

interface Trial {
  /** SIGSTOP -> attempt 2's process started (runner .json). */
  failoverMs: number;
  /** SIGSTOP -> coordinator assigned attempt 2. */
  reassignedMs: number;
  /** assigned -> process started on the other node. */
  restartMs: number;
}

export const failoverSection: Section = {
  name: 'failover',
  async run(ctx: BenchContext): Promise<Row[]> {
    const downAfterMs = parseDuration(DOWN_AFTER);
    if (downAfterMs === undefined) throw new Error(`MESHRUN_BENCH_DOWN_AFTER ${DOWN_AFTER}: not a duration`);
    ctx.progress(`failover: fleet with --suspect-after ${SUSPECT_AFTER} --down-after ${DOWN_AFTER}, 2 agents`);
    const fleet = await BenchFleet.start(ctx.root, [
      { node: 'fo-a', labels: 'failover=1', slots: 2 },
      { node: 'fo-b', labels: 'failover=1', slots: 2 },
    ], ['--suspect-after', SUSPECT_AFTER, '--down-after', DOWN_AFTER]);
    const trials: Trial[] = [];
    let frozen: number | undefined;
    try {
      // the first attempt runs "forever"; the replacement ends at once
      const spec = JSON.stringify({
        name: 'bench-failover',
        stages: [{ name: 'run', on: { labels: { failover: '1' } }, run: { command: ['sh', '-c', 'if [ "$MESHRUN_ATTEMPT" = 1 ]; then exec sleep 600; fi'] } }],
      });
      ctx.progress(`failover: ${TRIALS} trials of SIGSTOP on the agent running the stage`);
      for (let i = 0; i < TRIALS; i++) {
        const id = `fo-${i}`;
        await fleet.client.submit(id, spec);
        const running = await pollUntil(`${id} running`, async () => {
          const j = await fleet.client.getJob(id);
          return j.stages[0]?.attempts[0]?.state === 'running' ? j : undefined;
        }, 20_000);
        const lostNode = running.stages[0]!.attempts[0]!.node;
        const other = lostNode === 'fo-a' ? 'fo-b' : 'fo-a';
        // let a heartbeat or two go by, so the freeze lands anywhere in the heartbeat cycle
        await sleep(300 + Math.random() * 500);
        const pid = fleet.children.get(`agent-${lostNode}`)!.pid!;
        const t0 = Date.now();
        process.kill(pid, 'SIGSTOP');
        frozen = pid;
        const meta2 = join(fleet.agentDir(other), 'runs', id, 'run.2.json');
        const startedAt = await pollUntil(`${id} attempt 2 started on ${other}`, () => readJson<{ startedAt: number | null }>(meta2)?.startedAt ?? undefined, downAfterMs + 20_000, 10);
        const j: JobMsg = await fleet.client.getJob(id);
        const a2 = j.stages[0]!.attempts[1]!;
        trials.push({ failoverMs: startedAt - t0, reassignedMs: a2.assignedAtMs - t0, restartMs: startedAt - a2.assignedAtMs });
        ctx.progress(`failover: trial ${i + 1}: ${lostNode} frozen -> attempt 2 running on ${other} after ${startedAt - t0}ms`);
        process.kill(pid, 'SIGCONT');
        frozen = undefined;
        // settle before the next trial: the job done, the frozen node back and idle
        await fleet.watchUntilTerminal(id, 20_000);
        await pollUntil('both nodes ready and idle', async () => {
          const nodes = await fleet.client.listNodes();
          return nodes.filter((n) => n.state === 'ready' && n.running === 0).length === 2 ? true : undefined;
        }, 20_000, 100);
        const meta1 = join(fleet.agentDir(lostNode), 'runs', id, 'run.1.json');
        await pollUntil(`${id} attempt 1 stopped on ${lostNode}`, () => (readJson<{ endedAt: number | null }>(meta1)?.endedAt ? true : undefined), 20_000, 50);
      }
      const f = trials.map((t) => t.failoverMs);
      const med = (xs: number[]): number => percentile(xs, 50);
      return [
        row(`silent loss -> replacement started, median (n=${f.length})`, med(f), 'ms', downAfterMs, 'vs configured --down-after'),
        row(`silent loss -> replacement started, min`, Math.min(...f), 'ms', downAfterMs, 'vs configured --down-after'),
        row(`silent loss -> replacement started, max`, Math.max(...f), 'ms', downAfterMs, 'vs configured --down-after'),
        row(`  of which silence -> attempt 2 assigned, median`, med(trials.map((t) => t.reassignedMs)), 'ms', downAfterMs, 'detection (down-after minus the heartbeat age at the freeze) + monitor tick'),
        row(`  of which assigned -> process started on the other node, median`, med(trials.map((t) => t.restartMs)), 'ms', ctx.baseline.spawnP50Ms, 'vs raw spawn p50'),
        row(`configured --down-after (--suspect-after ${SUSPECT_AFTER})`, downAfterMs, 'ms', undefined, 'Nomad defaults notice a lost node after ~20-30 s'),
      ];
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      if (frozen !== undefined) {
        try {
          process.kill(frozen, 'SIGCONT');
        } catch {
          // gone
        }
      }
      await fleet.destroy();
    }
  },
};
