// Fan-out burst: one short command on each of 50 slots at once (2 agents x 25 slots), the way an
// operator runs one command across a fleet: first submit until every job is terminal, beside 50
// raw spawns of the same command started at once in this process (same run).
import { performance } from 'node:perf_hooks';
import { isTerminalJob, type JobState } from '../proto/records.js';
import { spawnOnce } from './baseline.js';
import { BenchFleet, sleep, trueJobSpec } from './dispatch.js';
import { row, type BenchContext, type Row, type Section } from './report.js';

const SLOTS_PER_AGENT = 25;
const JOBS = 2 * SLOTS_PER_AGENT;
const POLL_MS = 20;
const DEADLINE_MS = 60_000;

export const burstSection: Section = {
  name: 'burst',
  async run(ctx: BenchContext): Promise<Row[]> {
    ctx.progress(`burst: starting a fresh fleet (2 agents x ${SLOTS_PER_AGENT} slots)`);
    const fleet = await BenchFleet.start(ctx.root, [
      { node: 'bench-a', labels: 'bench=1', slots: SLOTS_PER_AGENT },
      { node: 'bench-b', labels: 'bench=1', slots: SLOTS_PER_AGENT },
    ]);
    try {
      const spec = trueJobSpec({ bench: '1' });
      // warm-up: consumers, caches, the agents' launchers
      for (let i = 0; i < 4; i++) await fleet.client.submit(`bw-${i}`, spec);
      await waitTerminal(fleet, 'bw-', 4);
      ctx.progress(`burst: ${JOBS} 'true' jobs submitted at once`);
      const t0 = performance.now();
      await Promise.all(Array.from({ length: JOBS }, (_, i) => fleet.client.submit(`b-${i}`, spec)));
      const submitted = performance.now() - t0;
      await waitTerminal(fleet, 'b-', JOBS);
      const allDone = performance.now() - t0;
      const jobs = (await fleet.client.listJobs(JOBS + 10)).filter((j) => j.id.startsWith('b-'));
      const succeeded = jobs.filter((j) => j.state === 'succeeded').length;
      // the same number of raw spawns at once, from one process
      const s0 = performance.now();
      await Promise.all(Array.from({ length: JOBS }, () => spawnOnce('true')));
      const raw = performance.now() - s0;
      return [
        row(`${JOBS} jobs at once: first submit -> all terminal`, allDone, 'ms', raw, `vs ${JOBS} raw spawn('true') at once`),
        row(`  of which submitting all ${JOBS}`, submitted, 'ms'),
        row(`burst jobs succeeded`, succeeded, `of ${JOBS}`),
      ];
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      await fleet.destroy();
    }
  },
};

async function waitTerminal(fleet: BenchFleet, prefix: string, n: number): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const page = await fleet.client.listJobPage(1, true);
    const open = page.jobs.filter((j) => j.id.startsWith(prefix) && !isTerminalJob(j.state as JobState)).length;
    const known = page.jobs.filter((j) => j.id.startsWith(prefix)).length;
    if (open === 0 && known > 0) return;
    if (Date.now() > deadline) throw new Error(`${open} of ${n} ${prefix}* jobs not terminal after ${DEADLINE_MS} ms`);
    await sleep(POLL_MS);
  }
}
