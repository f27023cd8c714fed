// Chaos against real processes: kill -9 the agent and the coordinator, restart
// nats-server, freeze an agent (silent loss). Each test checks the invariants.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, runsRecorded } from './harness/invariants.js';
import { Fleet, pidAlive, waitFor } from './harness/processes.js';

let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.destroy();
  fleet = undefined;
});

/** A command that prints numbered lines slowly, so a fault lands mid-run. */
const ticker = (n: number, delay = 0.2, marker?: string): string[] => [
  'sh',
  '-c',
  `${marker ? `echo "$MESHRUN_NODE $MESHRUN_ATTEMPT" >> ${marker}; ` : ''}i=0; while [ $i -lt ${n} ]; do i=$((i+1)); echo "line $i of ${n} on $MESHRUN_NODE"; sleep ${delay}; done`,
];

describe('runs outlive the agent', () => {
  it('kill -9 the agent mid-run: it re-adopts the run, the log has no gap or repeat, the rc is reported', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }] });
    const marker = join(fleet.dir, 'ran');
    await fleet.cli(['submit', '--on', 'alpha', '--id', 'adopt-1', '--', ...ticker(20, 0.15, marker)]);
    const follower = fleet.cli(['logs', '-f', 'adopt-1']);
    await fleet.waitJob('adopt-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    await new Promise((r) => setTimeout(r, 800));
    await fleet.agent('alpha').kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 700));
    fleet.agent('alpha').restart();
    const f = await follower;
    expect(f.code).toBe(0);
    expect(f.stdout).toBe(Array.from({ length: 20 }, (_, i) => `line ${i + 1} of 20 on alpha\n`).join(''));
    const job = await checkInvariants(fleet, 'adopt-1');
    expect(job.stages[0]!.attempts).toHaveLength(1);
    expect(runsRecorded(marker)).toEqual(['alpha 1']);
    expect(fleet.agent('alpha').log()).toMatch(/run adopted/);
  });

  it('the process ends while the agent is down: the rc is still reported', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }], coordinatorArgs: ['--down-after', '20s', '--suspect-after', '10s'] });
    await fleet.cli(['submit', '--on', 'alpha', '--id', 'adopt-2', '--', 'sh', '-c', 'sleep 1; echo done; exit 5']);
    // the process started (the stage is "running" from its placement, before the agent has the
    // start: killed then, the agent never ran it and no rc came - seen in CI)
    await fleet.waitJob('adopt-2', (j) => (j.stages[0]!.attempts[0]?.state ?? 'starting') !== 'starting');
    await fleet.agent('alpha').kill('SIGKILL');
    const rc = join(fleet.agentDir('alpha'), 'runs', 'adopt-2', 'run.1.rc');
    await waitFor('the run to end while the agent is down', () => existsSync(rc), 10_000);
    fleet.agent('alpha').restart();
    const j = await fleet.waitJob('adopt-2', (x) => x.state === 'failed');
    expect(j.exitCode).toBe(5);
    await checkInvariants(fleet, 'adopt-2');
  });

  it('a reused pid is never adopted', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }], coordinatorArgs: ['--down-after', '20s', '--suspect-after', '10s'] });
    await fleet.cli(['submit', '--on', 'alpha', '--id', 'reuse-1', '--', 'sleep', '30']);
    await fleet.waitJob('reuse-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    const stem = join(fleet.agentDir('alpha'), 'runs', 'reuse-1', 'run.1');
    // the process has started once the wrapper recorded its pid (a null pid would make the
    // kill below `kill(0)`: this test's own process group)
    const started = await waitFor('the run recorded its pid', () => {
      const m = JSON.parse(readFileSync(`${stem}.json`, 'utf8')) as { pid: number | null; wrapperPid: number | null };
      return m.pid !== null && m.pid > 1 && m.wrapperPid !== null && m.wrapperPid > 1 ? m : undefined;
    });
    await fleet.agent('alpha').kill('SIGKILL');
    // forge the runner files so they name a live process that is not the run (pid 1)
    const meta = { ...JSON.parse(readFileSync(`${stem}.json`, 'utf8')), pid: started.pid, wrapperPid: started.wrapperPid };
    const realPid = meta.pid as number;
    process.kill(-realPid, 'SIGKILL');
    process.kill(meta.wrapperPid as number, 'SIGKILL');
    await waitFor('wrapper gone', () => !existsSync(`/proc/${meta.wrapperPid}/stat`) || readFileSync(`/proc/${meta.wrapperPid}/stat`, 'utf8').includes(') Z'), 5000);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${stem}.json`, JSON.stringify({ ...meta, pid: 1, pgid: 1, wrapperPid: 1 }));
    fleet.agent('alpha').restart();
    const j = await fleet.waitJob('reuse-1', (x) => x.stages[0]!.attempts[0]!.state !== 'running' && x.stages[0]!.attempts[0]!.state !== 'starting');
    // pid 1 is alive but its start time differs: the run is reported gone, not adopted as running
    expect(j.stages[0]!.attempts[0]!.state).not.toBe('succeeded');
    // the restarted agent's stderr reaches its log file through this process: a moment later
    await waitFor('the agent to log the run vanished', () => /run vanished/.test(fleet!.agent('alpha').log()), 5000);
  });
});

describe('coordinator crashes', () => {
  it('kill -9 mid-dispatch: every job ends, no stage runs twice', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', slots: 8 }, { node: 'beta', slots: 8 }] });
    const ids = Array.from({ length: 16 }, (_, i) => `burst-${i}`);
    const markers = ids.map((id) => join(fleet!.dir, `${id}.ran`));
    const spec = (i: number): string =>
      JSON.stringify({ name: 'burst', stages: [{ name: 'run', on: { labels: {} }, run: { command: ['sh', '-c', `echo "$MESHRUN_NODE $MESHRUN_ATTEMPT" >> ${markers[i]}; echo job ${ids[i]}`] } }] });
    // an in-process client, so the crash lands while submits and dispatches are in flight
    const client = fleet.client();
    let acked = 0;
    const submits = ids.map((id, i) =>
      client.submit(id, spec(i)).then(
        () => ++acked,
        () => false,
      ),
    );
    await waitFor('the first submit acknowledged', () => acked >= 1, 20_000, 2);
    await fleet.coordinator.kill('SIGKILL');
    const settled = await Promise.allSettled(submits);
    // usually some submits were cut off by the crash; either way the client retries all
    const interrupted = settled.filter((r) => r.status === 'fulfilled' && r.value === false).length;
    console.info(`mid-dispatch: ${acked} submits acknowledged before the crash, ${interrupted} cut off`);
    client.close();
    await fleet.startCoordinator();
    // the client retries what was not acknowledged: submit is idempotent by id
    const again = fleet.client();
    const created = await Promise.all(ids.map((id, i) => again.submit(id, spec(i)).then((r) => r.created)));
    again.close();
    expect(created.filter((c) => !c).length, 'acknowledged submits were kept').toBeGreaterThanOrEqual(acked);
    for (const id of ids) await fleet.waitJob(id, (j) => j.state === 'succeeded');
    for (const [i, id] of ids.entries()) {
      await checkInvariants(fleet, id);
      const about = (d: { log(): string }): string => d.log().split('\n').filter((l) => l.includes(id) || /node (down|suspect|back)|lease|event loop stalled|nats connection/.test(l)).join('\n');
      expect(runsRecorded(markers[i]!), `${id} ran once\n${[fleet.coordinator, fleet.agent('alpha'), fleet.agent('beta')].map(about).join('\n')}`).toHaveLength(1);
    }
  }, 180_000);

  it('kill -9 mid-run: the job finishes, the follower reconnects and continues', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }] });
    const marker = join(fleet.dir, 'ran');
    await fleet.cli(['submit', '--on', 'alpha', '--id', 'coord-1', '--', ...ticker(40, 0.15, marker)]);
    const follower = fleet.cli(['logs', '-f', 'coord-1']);
    await fleet.waitJob('coord-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    // the follower's stream must be up before the kill: a CLI start takes over a second on a
    // busy machine (CI ran every file at once and the kill came before it had connected)
    await new Promise((r) => setTimeout(r, 2500));
    await fleet.coordinator.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    fleet.coordinator.restart();
    const f = await follower;
    expect(f.code).toBe(0);
    expect(f.stderr).toMatch(/reconnecting/);
    expect(f.stdout).toBe(Array.from({ length: 40 }, (_, i) => `line ${i + 1} of 40 on alpha\n`).join(''));
    const job = await checkInvariants(fleet, 'coord-1');
    expect(job.state).toBe('succeeded');
    expect(runsRecorded(marker)).toEqual(['alpha 1']);
  });
});

describe('bus outage', () => {
  it('restart nats-server mid-run: the job ends, nothing lost or doubled', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', extra: ['--lease', '10s'] }] });
    const marker = join(fleet.dir, 'ran');
    await fleet.cli(['submit', '--on', 'alpha', '--id', 'bus-1', '--', ...ticker(25, 0.15, marker)]);
    await fleet.waitJob('bus-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    await new Promise((r) => setTimeout(r, 800));
    await fleet.nats.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    await fleet.startNats();
    const j = await fleet.waitJob('bus-1', (x) => x.state === 'succeeded', 'succeeded', 40_000);
    expect(j.stages[0]!.attempts).toHaveLength(1);
    await checkInvariants(fleet, 'bus-1');
    const r = await fleet.cli(['logs', 'bus-1']);
    expect(r.stdout).toBe(Array.from({ length: 25 }, (_, i) => `line ${i + 1} of 25 on alpha\n`).join(''));
    expect(runsRecorded(marker)).toEqual(['alpha 1']);
  });
});

describe('silent node loss', () => {
  it('SIGSTOP an agent -> reassigned elsewhere -> SIGCONT -> its superseded run is stopped and marked stale', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'pool=x' }, { node: 'beta', labels: 'pool=x' }] });
    const marker = join(fleet.dir, 'ran');
    await fleet.cli(['submit', '--label', 'pool=x', '--id', 'silent-1', '--', ...ticker(30, 0.2, marker)]);
    const first = await fleet.waitJob('silent-1', (j) => j.stages[0]!.state === 'running' && j.stages[0]!.attempts[0]!.state === 'running');
    const lostNode = first.stages[0]!.node!;
    const other = lostNode === 'alpha' ? 'beta' : 'alpha';
    const stem1 = join(fleet.agentDir(lostNode), 'runs', 'silent-1', 'run.1');
    const pid1 = JSON.parse(readFileSync(`${stem1}.json`, 'utf8')).pid as number;
    fleet.agent(lostNode).signal('SIGSTOP');
    const moved = await fleet.waitJob('silent-1', (j) => j.stages[0]!.attempts.length === 2, 'reassigned', 15_000);
    expect(moved.stages[0]!.attempts[0]!.state).toBe('stale');
    expect(moved.stages[0]!.attempts[1]!.node).toBe(other);
    const nodes = await fleet.nodes();
    expect(nodes.find((n) => n.name === lostNode)!.state).toBe('down');
    fleet.agent(lostNode).signal('SIGCONT');
    await waitFor('superseded run stopped', () => !pidAlive(pid1), 15_000);
    const done = await fleet.waitJob('silent-1', (j) => j.state === 'succeeded', 'succeeded', 40_000);
    await waitFor('stale result recorded', async () => (await fleet!.job('silent-1')).stages[0]!.attempts[0]!.staleResult !== null, 10_000);
    const final = await checkInvariants(fleet, 'silent-1');
    expect(final.stages[0]!.attempt).toBe(2);
    expect(final.stages[0]!.node).toBe(other);
    expect(done.exitCode).toBe(0);
    const meta = JSON.parse(readFileSync(`${stem1}.json`, 'utf8'));
    expect(['fenced', 'superseded']).toContain(meta.stopReason);
  });

  it('failover: fail marks the stage lost instead of running it again', async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'pool=y' }, { node: 'beta', labels: 'pool=y' }] });
    const file = join(fleet.dir, 'fail.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `name: no-failover\nstages:\n  - name: only\n    on: { labels: { pool: y } }\n    failover: fail\n    run: { command: [sleep, '30'] }\n`);
    const sub = await fleet.cli(['submit', '--id', 'nofail-1', file]);
    expect(sub.code).toBe(0);
    const j = await fleet.waitJob('nofail-1', (x) => x.stages[0]!.attempts[0]?.state === 'running');
    const node = j.stages[0]!.node!;
    fleet.agent(node).signal('SIGSTOP');
    const lost = await fleet.waitJob('nofail-1', (x) => x.state === 'lost', 'lost', 15_000);
    expect(lost.exitCode).toBe(125);
    expect(lost.stages[0]!.attempts).toHaveLength(1);
    expect(lost.stages[0]!.state).toBe('lost');
    fleet.agent(node).signal('SIGCONT');
    const r = await fleet.cli(['logs', '-f', 'nofail-1']);
    expect(r.code).toBe(125);
  });
});

