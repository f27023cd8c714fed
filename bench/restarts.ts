// Restarts that must kill nothing: 8 long runs on 2 agents; one agent is killed with SIGKILL
// and started again 20 times, then nats-server is killed and started again 5 times. Figures:
// how long from the kill until the agent is back on the bus (its runs re-adopted), and how
// many stages got a second attempt (reassigned or fenced) in each phase - the goal is 0.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTerminalJob, type JobState } from '../proto/records.js';
import { BenchFleet, sleep } from './dispatch.js';
import { percentile, row, type BenchContext, type Row, type Section } from './report.js';

const JOBS = 8;
const AGENT_RESTARTS = Number(process.env.MESHRUN_BENCH_AGENT_RESTARTS ?? 20);
const BUS_RESTARTS = Number(process.env.MESHRUN_BENCH_BUS_RESTARTS ?? 5);

export const restartsSection: Section = {
  name: 'restarts',
  async run(ctx: BenchContext): Promise<Row[]> {
    ctx.progress(`restarts: ${JOBS} long runs; ${AGENT_RESTARTS} agent kill -9 + restart, then ${BUS_RESTARTS} nats-server kill -9 + restart`);
    const fleet = await BenchFleet.start(ctx.root, [
      { node: 'rs-a', labels: 'rs=1', slots: 8 },
      { node: 'rs-b', labels: 'rs=1', slots: 8 },
    ]);
    try {
      const ids = Array.from({ length: JOBS }, (_, i) => `rs-${i}`);
      const spec = JSON.stringify({ name: 'long', stages: [{ name: 'run', on: { labels: { rs: '1' } }, run: { command: ['sleep', String(30 + AGENT_RESTARTS * 2 + BUS_RESTARTS * 4)] } }] });
      for (const id of ids) await fleet.client.submit(id, spec);
      const extraAttempts = async (): Promise<number> => {
        const jobs = (await fleet.client.listJobs()).filter((j) => ids.includes(j.id));
        return jobs.reduce((n, j) => n + Math.max(0, (j.stages[0]?.attempts.length ?? 1) - 1), 0);
      };
      for (;;) {
        const jobs = (await fleet.client.listJobs()).filter((j) => ids.includes(j.id));
        if (jobs.length === JOBS && jobs.every((j) => j.stages[0]?.attempts[0]?.state === 'running')) break;
        await sleep(200);
      }
      const log = join(fleet.dir, 'agent-rs-a.log');
      const registered = (): number => readFileSync(log, 'utf8').split('agent registered on the bus').length - 1;
      const backMs: number[] = [];
      for (let i = 0; i < AGENT_RESTARTS; i++) {
        const before = registered();
        const t0 = performance.now();
        await fleet.kill('agent-rs-a');
        fleet.respawn('agent-rs-a');
        while (registered() === before) await sleep(10);
        backMs.push(performance.now() - t0);
        await sleep(500);
      }
      const afterAgents = await extraAttempts();
      ctx.progress(`restarts: agent back after a median ${Math.round(percentile(backMs, 50))} ms; ${afterAgents} stages with a second attempt`);
      for (let i = 0; i < BUS_RESTARTS; i++) {
        await fleet.nats!.stop('SIGKILL');
        await fleet.startNats();
        await sleep(3000);
      }
      const afterBus = (await extraAttempts()) - afterAgents;
      // every run ends by itself; none may have been lost
      for (;;) {
        const jobs = (await fleet.client.listJobs()).filter((j) => ids.includes(j.id));
        if (jobs.every((j) => isTerminalJob(j.state as JobState))) {
          const failed = jobs.filter((j) => j.state !== 'succeeded').length;
          return [
            row(`agent kill -9 -> back on the bus, its runs re-adopted (median of ${AGENT_RESTARTS})`, percentile(backMs, 50), 'ms', ctx.baseline.spawnP50Ms, 'vs raw spawn p50 (an agent is a Node process)'),
            row(`  p95`, percentile(backMs, 95), 'ms'),
            row(`stages reassigned or fenced across ${AGENT_RESTARTS} agent restarts`, afterAgents, `of ${JOBS}`, undefined, 'goal 0'),
            row(`stages reassigned or fenced across ${BUS_RESTARTS} nats-server restarts`, afterBus, `of ${JOBS}`, undefined, 'goal 0'),
            row(`jobs not succeeded`, failed, `of ${JOBS}`),
          ];
        }
        await sleep(500);
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      await fleet.destroy();
    }
  },
};
