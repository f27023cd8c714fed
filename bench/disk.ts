// Disk use under a steady job rate: a few thousand jobs, each writing ~3 KB of log and a 4 KiB
// artifact, submitted in waves on 2 agents; after each wave (once retention has caught up) the
// bytes on disk of the JetStream store, the agents' state dirs and the coordinator's are
// summed. Retention keeps the last RETAIN_JOBS ended jobs, so after the first waves the disk
// use should stay flat: the figure is the last wave's total compared with the total after the
// warm-up waves of the same run.
import { readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { isTerminalJob, type JobState } from '../proto/records.js';
import { BenchFleet, sleep } from './dispatch.js';
import { row, type BenchContext, type Row, type Section } from './report.js';

const JOBS = Number(process.env.MESHRUN_BENCH_DISK_JOBS ?? 2000);
const WAVE = 250;
const WARMUP_WAVES = 2;
const RETAIN_JOBS = 200;
const IN_FLIGHT = 16;
const SLOTS = 8;
const WAVE_TIMEOUT_MS = 180_000;

export const diskSection: Section = {
  name: 'disk',
  async run(ctx: BenchContext): Promise<Row[]> {
    ctx.progress(`disk: ${JOBS} jobs in waves of ${WAVE}, retention keeps the last ${RETAIN_JOBS}`);
    const fleet = await BenchFleet.start(
      ctx.root,
      [
        { node: 'disk-a', labels: 'disk=1', slots: SLOTS },
        { node: 'disk-b', labels: 'disk=1', slots: SLOTS },
      ],
      ['--retain-jobs', String(RETAIN_JOBS), '--retain-events', '2000'],
    );
    try {
      const spec = JSON.stringify({
        name: 'bench-disk',
        stages: [
          {
            name: 'run',
            on: { labels: { disk: '1' } },
            run: { command: ['sh', '-c', 'head -c 1500 /dev/urandom | od -An -tx1 | head -c 3000; echo; head -c 4096 /dev/urandom > out.bin'] },
            artifacts: ['out.bin'],
          },
        ],
      });
      const samples: { jobs: number; bytes: Record<string, number> }[] = [];
      const waves = Math.max(WARMUP_WAVES + 1, Math.ceil(JOBS / WAVE));
      let submitted = 0;
      for (let w = 0; w < waves; w++) {
        const ids = Array.from({ length: WAVE }, (_, i) => `d-${w}-${i}`);
        let next = 0;
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            while (next < ids.length) await fleet.client.submit(ids[next++]!, spec);
          }),
        );
        submitted += WAVE;
        const t0 = Date.now();
        // the wave has ended, and retention has caught up with it
        for (;;) {
          const jobs = await fleet.client.listJobs();
          const open = jobs.filter((j) => !isTerminalJob(j.state as JobState)).length;
          if (open === 0 && jobs.length <= RETAIN_JOBS) break;
          if (Date.now() - t0 > WAVE_TIMEOUT_MS) throw new Error(`wave ${w + 1}: ${open} jobs still open, ${jobs.length} held after ${WAVE_TIMEOUT_MS / 1000}s`);
          await sleep(500);
        }
        const bytes = {
          'JetStream store': diskBytes(fleet.trust.paths.natsStore),
          'agents\' state dirs': fleet.agents.reduce((a, s) => a + diskBytes(fleet.agentDir(s.node)), 0),
          'coordinator state dir': diskBytes(join(fleet.dir, 'coordinator')),
        };
        samples.push({ jobs: submitted, bytes });
        ctx.progress(`disk: ${submitted} jobs done, ${(total(bytes) / 1024 / 1024).toFixed(1)} MiB on disk`);
      }
      const warm = samples[WARMUP_WAVES - 1]!;
      const last = samples[samples.length - 1]!;
      const perJob = (total(last.bytes) - total(warm.bytes)) / (last.jobs - warm.jobs);
      // JetStream frees a file block only once every message in it is gone: the store saws up
      // and down by about a block per stream; what matters is that the peak stops growing
      const peak = samples.slice(WARMUP_WAVES - 1).reduce((a, x) => (total(x.bytes) > total(a.bytes) ? x : a));
      return [
        row(`disk use after ${last.jobs} jobs (retention keeps ${RETAIN_JOBS})`, total(last.bytes) / 1024 / 1024, 'MiB', total(warm.bytes) / 1024 / 1024, `vs after ${warm.jobs} jobs (warm-up)`),
        ...Object.keys(last.bytes).map((k) => row(`  ${k}`, last.bytes[k]! / 1024 / 1024, 'MiB', warm.bytes[k]! / 1024 / 1024, `vs after ${warm.jobs} jobs`)),
        row(`peak disk use after the warm-up (at ${peak.jobs} jobs)`, total(peak.bytes) / 1024 / 1024, 'MiB', total(warm.bytes) / 1024 / 1024, `vs after ${warm.jobs} jobs`),
        row(`net change per job, warm-up to the end`, perJob / 1024, 'KiB/job', undefined, `each job writes ~3 KB of log and a 4 KiB artifact; ${samples.map((s) => `${s.jobs}:${(total(s.bytes) / 1024 / 1024).toFixed(1)}`).join(' ')} MiB`),
      ];
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      await fleet.destroy();
    }
  },
};

function total(b: Record<string, number>): number {
  return Object.values(b).reduce((a, x) => a + x, 0);
}

/** Bytes a directory tree takes on disk (allocated blocks, as du counts them). */
function diskBytes(dir: string): number {
  let sum = 0;
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = lstatSync(p);
        sum += st.blocks * 512;
        if (st.isDirectory()) walk(p);
      } catch {
        // removed meanwhile
      }
    }
  };
  walk(dir);
  return sum;
}
