// Throughput: 1000 single-stage `true` jobs placed by labels on 2 agents, submitted with 32
// in flight; wall time from the first submit until every job is terminal as seen by polling
// ListJobs, compared with the raw spawn rate of this machine.
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Limits } from '../lib/limits.js';
import type { JobMsg } from '../proto/grpc.js';
import { isTerminalJob, type JobState } from '../proto/records.js';
import { procCpuSeconds } from './baseline.js';
import { BenchFleet, describeJob, sleep, trueJobSpec } from './dispatch.js';
import { row, type BenchContext, type Row, type Section } from './report.js';

const JOBS = Number(process.env.MESHRUN_BENCH_THROUGHPUT_JOBS ?? 1000);
const IN_FLIGHT = 32;
const POLL_MS = 200;
/** Past this, report the rate over the jobs that finished (the run is cut short, marked INCOMPLETE). */
const DEADLINE_MS = Number(process.env.MESHRUN_BENCH_THROUGHPUT_DEADLINE_MS ?? 110_000);
/** No job became terminal for this long while some are not: stuck, a product problem. */
const STALL_MS = 15_000;
const SLOTS = 8;
/** A directory: the coordinator and both agents run with `--cpu-prof` and write their profiles there. */
const PROFILE_DIR = process.env.MESHRUN_BENCH_THROUGHPUT_PROF;

export const throughputSection: Section = {
  name: 'throughput',
  async run(ctx: BenchContext): Promise<Row[]> {
    ctx.progress('throughput: starting a fresh fleet (nats-server, coordinator, 2 agents)');
    const prof = (name: string): string[] => (PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `${name}.cpuprofile`] : []);
    if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
    const fleet = await BenchFleet.start(
      ctx.root,
      [
        { node: 'bench-a', labels: 'bench=1', slots: SLOTS, nodeArgs: prof('agent-a') },
        { node: 'bench-b', labels: 'bench=1', slots: SLOTS, nodeArgs: prof('agent-b') },
      ],
      [],
      prof('coordinator'),
    );
    try {
      const spec = trueJobSpec({ bench: '1' });
      const ids = Array.from({ length: JOBS }, (_, i) => `t-${i}`);
      ctx.progress(`throughput: ${JOBS} 'true' jobs, ${IN_FLIGHT} submits in flight, ${SLOTS} slots per agent`);
      const cpu0 = daemonCpu(fleet);
      const machine0 = machineCpu();
      // this process: the client that submits and polls, on the same machine
      const self0 = process.cpuUsage();
      const t0 = Date.now();
      // leave room for the sections after this one and for teardown
      const deadlineMs = Math.max(20_000, Math.min(DEADLINE_MS, ctx.deadlineAt - 10_000 - t0));
      let next = 0;
      let submitErr: Error | undefined;
      const submitting = Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < ids.length && !submitErr) {
            const id = ids[next++]!;
            try {
              await fleet.client.submit(id, spec);
            } catch (err) {
              submitErr ??= new Error(`submit ${id}: ${(err as Error).message}`);
            }
          }
        }),
      ).then(() => Date.now() - t0);

      let submitMs: number | undefined;
      // how far the fleet got while the submit burst was going on (the coordinator serializes both)
      let doneAtSubmitEnd: number | undefined;
      // polled: the jobs not ended (the coordinator holds them; a finished one it would read
      // from its store, which the poll must not add to the run); every job is read once at the end
      const terminal = async (): Promise<number> => JOBS - (await fleet.client.listJobPage(1, true)).jobs.filter((j) => j.id.startsWith('t-') && !isTerminalJob(j.state as JobState)).length;
      void submitting.then(async (ms) => {
        submitMs = ms;
        doneAtSubmitEnd = await terminal().catch(() => undefined);
      });
      let jobs: JobMsg[] = [];
      let done = 0;
      let lastProgress = Date.now();
      let lastChange = Date.now();
      let endMs: number | undefined;
      let stalled = false;
      while (Date.now() - t0 < deadlineMs) {
        await sleep(POLL_MS);
        if (submitErr) throw submitErr;
        if (submitMs === undefined) continue;
        const nowDone = await terminal();
        if (nowDone !== done) lastChange = Date.now();
        done = nowDone;
        if (done === JOBS) {
          endMs = Date.now() - t0;
          break;
        }
        if (Date.now() - lastChange > STALL_MS) {
          stalled = true;
          break;
        }
        if (Date.now() - lastProgress > 10_000) {
          lastProgress = Date.now();
          ctx.progress(`throughput: ${done}/${JOBS} terminal after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
        }
      }
      await submitting;
      const cpu1 = daemonCpu(fleet);
      const machine1 = machineCpu();
      const self1 = process.cpuUsage(self0);
      const clientSec = (self1.user + self1.system) / 1e6;
      jobs = (await fleet.client.listJobs(Math.min(JOBS, Limits.listJobsMax))).filter((j) => j.id.startsWith('t-'));
      const states = countBy(jobs, (j) => j.state);
      const stuck = jobs.filter((j) => !isTerminalJob(j.state as JobState)).slice(0, 5).map(describeJob);
      if (stalled) {
        throw new Error(`stuck: ${done}/${JOBS} jobs terminal and none finished in the last ${STALL_MS}ms; states ${JSON.stringify(states)}; e.g. ${stuck.join(' | ')}`);
      }
      const complete = endMs !== undefined;
      const wallMs = endMs ?? Date.now() - t0;
      const perNode = countBy(jobs, (j) => j.stages[0]?.node || '(none)');
      const succeeded = states.succeeded ?? 0;
      const rate = done / (wallMs / 1000);
      // the coordinator's own view: first submit to the last job's end
      const lastEnded = Math.max(...jobs.map((j) => j.endedAtMs));
      const failedEx = jobs.filter((j) => j.state !== 'succeeded').slice(0, 3).map(describeJob);
      const incomplete = complete ? '' : `INCOMPLETE: time limit ${Math.round(deadlineMs / 1000)}s reached with ${done}/${JOBS} terminal (still moving); rate is over finished jobs`;
      if (!complete) ctx.progress(`throughput: ${incomplete}`);
      const cpuRows = Object.keys(cpu1).map((name) => row(`  CPU of ${name} during the run`, (cpu1[name]! - (cpu0[name] ?? 0)) / (wallMs / 1000) * 100, '% of 1 CPU'));
      // what the daemons do not account for is the runs themselves: wrappers, commands, the kernel's process creation
      const daemonsSec = Object.keys(cpu1).reduce((sum, name) => sum + (cpu1[name]! - (cpu0[name] ?? 0)), 0);
      const busySec = machine1.busySec - machine0.busySec;
      const allSec = machine1.totalSec - machine0.totalSec;
      cpuRows.push(
        row(`  machine CPU busy during the run (all ${cpus().length} cores)`, (busySec / allSec) * 100, '%', undefined, 'near 100 %: the run is CPU-bound, not paced'),
        row(`  CPU per job, whole machine`, (busySec / done) * 1000, 'ms', undefined, `daemons ${((daemonsSec / done) * 1000).toFixed(1)} ms, this bench's client ${((clientSec / done) * 1000).toFixed(1)} ms, the rest (runs' wrappers and commands, process creation) ${(((busySec - daemonsSec - clientSec) / done) * 1000).toFixed(1)} ms`),
        // what the machine could do if the daemons and the client cost nothing: the runs' own CPU bounds it
        row(`  ceiling if the daemons and client cost nothing (cores / the runs' CPU per job)`, (cpus().length * done) / Math.max(busySec - daemonsSec - clientSec, 1e-9), 'jobs/s', ctx.baseline.spawnPerSec, 'vs raw spawn/s at conc 8'),
      );
      return [
        row(`jobs/s, ${JOBS} jobs, 2 agents x ${SLOTS} slots (poll every ${POLL_MS}ms)`, rate, 'jobs/s', ctx.baseline.spawnPerSec, complete ? 'vs raw spawn/s at conc 8' : incomplete),
        row(`wall time until all terminal`, wallMs / 1000, 's', undefined, complete ? undefined : 'INCOMPLETE'),
        row(`wall time, coordinator endedAt of last job`, (lastEnded - t0) / 1000, 's'),
        row(`time to submit all (${IN_FLIGHT} in flight)`, (submitMs ?? NaN) / 1000, 's'),
        row(`  jobs terminal when the last submit returned`, doneAtSubmitEnd ?? NaN, `of ${JOBS}`),
        row(`jobs succeeded`, succeeded, `of ${JOBS}`, undefined, `${Object.entries(perNode).map(([n, c]) => `${n}:${c}`).join(' ')}${succeeded !== JOBS ? ` states ${JSON.stringify(states)} e.g. ${[...failedEx, ...stuck].slice(0, 3).join(' | ')}` : ''}`),
        ...cpuRows,
      ];
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      // a profile is written when its process exits of its own accord; the coordinator's
      // graceful stop waits for its clients' connections, so the bench's own goes first
      if (PROFILE_DIR) {
        fleet.client.close();
        for (const name of ['agent-bench-a', 'agent-bench-b', 'coordinator']) await fleet.stop(name);
      }
      await fleet.destroy();
    }
  },
};

function daemonCpu(fleet: BenchFleet): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, c] of fleet.children) {
    const v = procCpuSeconds(c.pid);
    if (v !== undefined) out[name] = v;
  }
  const n = procCpuSeconds(fleet.nats?.pid);
  if (n !== undefined) out['nats-server'] = n;
  return out;
}

/** Busy and total CPU seconds of the whole machine so far, from /proc/stat (all cores). */
function machineCpu(): { busySec: number; totalSec: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busySec: (total - idle) / 100, totalSec: total / 100 };
}

function countBy<T>(xs: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}
