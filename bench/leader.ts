// Leader failover: two coordinators on one bus, one agent with a long run. The leader is
// frozen (SIGSTOP: its process lives on, so the standby must wait the lease out - as for a
// leader on another machine that hangs or is cut off) or killed (kill -9 on the same machine:
// the standby sees the holder's pid gone and takes over at once). Figure: from the fault
// until the new leader has placed a new job and its process started; the baseline is the
// lease. The long run must not be restarted and no node marked down by the changes of leader.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshrunClient } from '../cli/client.js';
import { resolveClientTarget } from '../cli/client-config.js';
import { BenchFleet, sleep } from './dispatch.js';
import { percentile, row, type BenchContext, type Row, type Section } from './report.js';

const TRIALS = Number(process.env.MESHRUN_BENCH_LEADER_TRIALS ?? 3);
const LEASE_MS = 1500; // the default

export const leaderSection: Section = {
  name: 'leader',
  async run(ctx: BenchContext): Promise<Row[]> {
    ctx.progress(`leader: ${TRIALS} x freeze and ${TRIALS} x kill -9 of the leading coordinator (lease ${LEASE_MS} ms)`);
    const lease = ['--leader-lease', `${LEASE_MS / 1000}s`];
    const fleet = await BenchFleet.start(ctx.root, [{ node: 'lf-a', labels: 'lf=1', slots: 8 }], lease);
    const addr = new Map<string, string>([['coordinator', fleet.address]]);
    addr.set('coordinator-b', await fleet.spawnCoordinator('coordinator-b', lease));
    const logOf = (name: string): string => {
      try {
        return readFileSync(join(fleet.dir, `${name}.log`), 'utf8');
      } catch {
        return '';
      }
    };
    const standbyReady = async (name: string): Promise<void> => {
      while (!/standby: another coordinator leads/.test(logOf(name))) await sleep(50);
    };
    // one client per coordinator: the figure is the failover, not a client's deadline on a frozen one
    const clients = new Map([...addr].map(([name, a]) => [name, new MeshrunClient(resolveClientTarget({ coordinator: a }, { MESHRUN_CONFIG: fleet.trust.paths.adminConfig }))]));
    let client = clients.get('coordinator')!;
    try {
      await standbyReady('coordinator-b');
      const spec = (cmd: string[]): string => JSON.stringify({ name: 'lf', stages: [{ name: 'run', on: { labels: { lf: '1' } }, run: { command: cmd } }] });
      const submit = async (id: string, cmd: string[]): Promise<void> => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            await client.submit(id, spec(cmd));
            return;
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await sleep(25); // no coordinator leads yet
          }
        }
      };
      const waitStarted = async (id: string): Promise<number> => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const started = fleet.runMeta(id)?.startedAt;
          if (started) return started;
          if (Date.now() > deadline) throw new Error(`${id} did not start within 30 s`);
          await sleep(10);
        }
      };
      await submit('lf-long', ['sleep', '600']);
      await waitStarted('lf-long');
      let leader = 'coordinator';
      const frozenMs: number[] = [];
      const killedMs: number[] = [];
      for (let i = 0; i < TRIALS * 2; i++) {
        const freeze = i % 2 === 0;
        const other = leader === 'coordinator' ? 'coordinator-b' : 'coordinator';
        const t0 = Date.now();
        if (freeze) fleet.signal(leader, 'SIGSTOP');
        else await fleet.kill(leader);
        client = clients.get(other)!;
        const id = `lf-${i}`;
        await submit(id, ['true']);
        (freeze ? frozenMs : killedMs).push((await waitStarted(id)) - t0);
        // the old leader comes back as a standby: thawed it finds its lease taken and exits
        if (freeze) fleet.signal(leader, 'SIGCONT');
        await fleet.kill(leader);
        fleet.respawn(leader);
        await standbyReady(leader);
        leader = other;
      }
      const list = await client.listJobs();
      const long = list.find((j) => j.id === 'lf-long');
      const restarted = Math.max(0, (long?.stages[0]?.attempts.length ?? 1) - 1);
      const downs = ['coordinator', 'coordinator-b'].reduce((n, c) => n + (logOf(c).match(/"msg":"node down"/g)?.length ?? 0), 0);
      await client.cancelJob('lf-long').catch(() => undefined);
      return [
        row(`leader frozen -> new leader placed a job, process started (median of ${TRIALS})`, percentile(frozenMs, 50), 'ms', LEASE_MS, 'vs --leader-lease; goal < 5000 ms'),
        row(`  max`, Math.max(...frozenMs), 'ms'),
        row(`leader kill -9 -> new leader placed a job, process started (median of ${TRIALS}, same machine)`, percentile(killedMs, 50), 'ms', LEASE_MS, 'vs --leader-lease'),
        row(`runs restarted across ${TRIALS * 2} changes of leader`, restarted, 'of 1', undefined, 'goal 0'),
        row(`nodes marked down across ${TRIALS * 2} changes of leader`, downs, '', undefined, 'goal 0'),
      ];
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      for (const c of clients.values()) c.close();
      await fleet.destroy();
    }
  },
};
