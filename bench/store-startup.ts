// Coordinator start-up over a large job store: `n` ended jobs seeded straight into the buckets
// (store-seed.ts), then a coordinator killed and started again; figures: from its spawn until
// it answers ListJobs, its resident memory then, and one `meshrun jobs` page.
// Run alone: `node dist/bench/store-startup.js 10000 100000` (`--no-index`: a store written by a
// meshrun from before the job index, which the first start migrates).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { BenchFleet, repoRoot, sleep } from './dispatch.js';
import { seedJobs } from './store-seed.js';
import { row, type BenchContext, type Row, type Section } from './report.js';

export interface StoreStartup {
  jobs: number;
  seedMs: number;
  /** From the coordinator's spawn until ListJobs answers. */
  startMs: number;
  /** Resident memory once it serves, and its peak until then (MiB). */
  rssMiB: number;
  peakRssMiB: number;
  /** One ListJobs of the default page (100) once it serves. */
  pageMs: number;
  /** From the coordinator's own log: its first line until it listens (no process start-up), and its job store's load. */
  logStartToListenMs?: number;
  logJobsLoadMs?: number;
  /** A store seeded without the index: the one-time migration, until every entry is written. */
  logMigrationMs?: number;
}

/** Times from the last run's log lines (JSON, one per line): the first line of that run until 'coordinator listening'. */
function logTimes(file: string): Pick<StoreStartup, 'logStartToListenMs' | 'logJobsLoadMs' | 'logMigrationMs'> {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        const v = JSON.parse(l) as { time: string | number; msg: string; ms?: number };
        return [{ ...v, time: new Date(v.time).getTime() }];
      } catch {
        return [];
      }
    });
  const starts = lines.map((l, i) => (l.msg.startsWith('coordinator starting') ? i : -1)).filter((i) => i >= 0);
  const run = lines.slice(starts[starts.length - 1] ?? 0);
  const listening = run.find((l) => l.msg === 'coordinator listening');
  const loaded = run.find((l) => l.msg === 'jobs loaded');
  const migrated = run.find((l) => l.msg === 'job index built: one-time migration done');
  return { logStartToListenMs: listening ? listening.time - run[0]!.time : undefined, logJobsLoadMs: loaded?.ms, logMigrationMs: migrated?.ms };
}

function procMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function measureStoreStartup(root: string, n: number, progress: (msg: string) => void = () => undefined, o: { index?: boolean } = {}): Promise<StoreStartup> {
  // retention must not start removing the seeded jobs while it is measured
  const fleet = await BenchFleet.start(root, [], ['--retain-jobs', String(n + 1000)]);
  try {
    const nc = await fleet.natsConnect();
    const t0 = performance.now();
    try {
      await seedJobs(nc, n, { index: o.index, progress: (w) => progress(`store: ${w} of ${n} jobs seeded`) });
    } finally {
      await nc.close();
    }
    const seedMs = performance.now() - t0;
    await fleet.kill('coordinator');
    const t1 = performance.now();
    fleet.respawn('coordinator');
    const pid = fleet.children.get('coordinator')!.pid!;
    const deadline = Date.now() + 600_000;
    for (;;) {
      try {
        await fleet.client.listJobs(1);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(20);
      }
    }
    const startMs = performance.now() - t1;
    const rssMiB = procMiB(pid, 'VmRSS');
    const peakRssMiB = procMiB(pid, 'VmHWM');
    const t2 = performance.now();
    const page = await fleet.client.listJobs(101);
    const pageMs = performance.now() - t2;
    if (page.length < Math.min(101, n)) throw new Error(`ListJobs answered ${page.length} jobs of ${n} seeded`);
    // a migration goes on after the coordinator serves: its figure is logged once it is done
    const log = join(fleet.dir, 'coordinator.log');
    if (o.index === false) while (!readFileSync(log, 'utf8').includes('one-time migration done') && Date.now() < deadline) await sleep(200);
    return { jobs: n, seedMs, startMs, rssMiB, peakRssMiB, pageMs, ...logTimes(log) };
  } finally {
    await fleet.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const sizes = args.filter((a) => a !== '--no-index').map(Number);
  for (const n of sizes.length > 0 ? sizes : [10_000]) {
    const r = await measureStoreStartup(repoRoot(), n, (m) => process.stderr.write(`${m}\n`), { index: !args.includes('--no-index') });
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
}

/**
 * The `startup` section: a coordinator started over a small store (the baseline) and over one
 * of MESHRUN_BENCH_STARTUP_JOBS ended jobs (100,000 by default).
 */
export const startupSection: Section = {
  name: 'startup',
  async run(ctx: BenchContext): Promise<Row[]> {
    const n = Number(process.env.MESHRUN_BENCH_STARTUP_JOBS ?? 100_000);
    ctx.progress(`startup: a coordinator over 100 and over ${n} stored jobs`);
    const small = await measureStoreStartup(ctx.root, 100, ctx.progress);
    const big = await measureStoreStartup(ctx.root, n, ctx.progress);
    const note = `${n} ended jobs seeded in ${Math.round(big.seedMs)} ms; baseline: the same over 100 jobs`;
    return [
      row(`coordinator start-up over ${n} stored jobs (spawn to serving)`, big.startMs, 'ms', small.startMs, note),
      row(`  of which its job store's load`, big.logJobsLoadMs ?? NaN, 'ms', small.logJobsLoadMs),
      row(`coordinator RSS once serving, ${n} stored jobs`, big.rssMiB, 'MiB', small.rssMiB),
      row(`ListJobs newest page (100) at ${n} stored jobs`, big.pageMs, 'ms', small.pageMs),
    ];
  },
};
