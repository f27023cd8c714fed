// Strict standby against real processes: an agent started with --standby gets work for
// its labels only when no ready non-standby node has them. While the primary is up the
// work waits for it (even when it is busy); when the primary is frozen and goes down the
// standby takes both the queued work and the primary's reassigned run; once the primary
// is back, new work goes to it again.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants, runsRecorded } from './harness/invariants.js';
import { Fleet, pidAlive, sleep, waitFor } from './harness/processes.js';



describe('strict standby', () => {
  let fleet: Fleet;
  let frozen = false;

  beforeAll(async () => {
    fleet = await Fleet.start({
      agents: [
        { node: 'prim', labels: 'role=runner', slots: 1 },
        { node: 'stby', labels: 'role=runner', slots: 4, standby: true },
      ],
    });
  });

  afterAll(async () => {
    if (frozen) fleet?.agent('prim').signal('SIGCONT');
    await fleet?.destroy();
  });

  /** Every node a job's attempts ran on, from the markers its command appended. */
  const marker = (id: string): string => join(fleet.dir, `${id}.ran`);
  const cmd = (id: string, body = 'echo "ok on $MESHRUN_NODE"'): string[] => ['sh', '-c', `echo "$MESHRUN_NODE $MESHRUN_ATTEMPT" >> ${marker(id)}; ${body}`];

  it('reports the standby flag, and with both nodes up every job runs on the primary, one at a time', async () => {
    const nodes = await fleet.nodes();
    expect(nodes.map((n) => [n.name, (n as unknown as { standby: boolean }).standby])).toEqual([
      ['prim', false],
      ['stby', true],
    ]);
    const ids = ['both-1', 'both-2', 'both-3', 'both-4'];
    // submitted together: the primary has one slot, so three of them wait for it
    const subs = await Promise.all(ids.map((id) => fleet.cli(['submit', '--label', 'role=runner', '--id', id, '--', ...cmd(id, 'sleep 1; echo "ok on $MESHRUN_NODE"')])));
    for (const s of subs) expect(s.code, s.stderr).toBe(0);
    let sawWaiting = false;
    await waitFor('every job terminal', async () => {
      const jobs = await Promise.all(ids.map((id) => fleet.job(id)));
      for (const j of jobs) {
        if (j.state === 'queued' && /busy \(prim 1\/1\)/.test(j.stages[0]!.reason)) sawWaiting = true;
        for (const a of j.stages[0]!.attempts) expect(a.node, `${j.id} placed on the standby while the primary was up`).toBe('prim');
      }
      return jobs.every((j) => j.state === 'succeeded');
    }, 30_000, 100);
    expect(sawWaiting, 'a job waited for the busy primary with the reason').toBe(true);
    for (const id of ids) {
      const j = await checkInvariants(fleet, id);
      expect(j.stages[0]!.attempts.map((a) => a.node)).toEqual(['prim']);
      expect(runsRecorded(marker(id))).toEqual(['prim 1']);
    }
    expect(existsSync(join(fleet.agentDir('stby'), 'runs')), 'the standby never got a run').toBe(false);
  });

  it('while the primary is busy a new job waits for it; when the primary goes down the standby takes the queued job and the reassigned run', async () => {
    // the long job runs only on the primary; anywhere else it ends at once
    await fleet.cli(['submit', '--label', 'role=runner', '--id', 'long-1', '--', ...cmd('long-1', 'if [ "$MESHRUN_NODE" = prim ]; then sleep 60; fi; echo "long done on $MESHRUN_NODE"')]);
    const running = await fleet.waitJob('long-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    expect(running.stages[0]!.node).toBe('prim');
    await fleet.cli(['submit', '--label', 'role=runner', '--id', 'queued-1', '--', ...cmd('queued-1')]);
    // the standby has 4 free slots, and still the job waits for the busy primary
    const t0 = Date.now();
    while (Date.now() - t0 < 2500) {
      const q = await fleet.job('queued-1');
      expect(q.state).toBe('queued');
      expect(q.stages[0]!.attempts).toHaveLength(0);
      expect(q.stages[0]!.reason).toMatch(/busy \(prim 1\/1\)/);
      expect(q.reason).toMatch(/busy/);
      await sleep(300);
    }
    expect(existsSync(join(fleet.agentDir('stby'), 'runs'))).toBe(false);

    const pid1 = (await fleet.runStart('prim', 'long-1')).pid;
    fleet.agent('prim').signal('SIGSTOP');
    frozen = true;
    const q = await fleet.waitJob('queued-1', (j) => j.state === 'succeeded', 'the standby ran the queued job', 20_000);
    expect(q.stages[0]!.node).toBe('stby');
    const moved = await fleet.waitJob('long-1', (j) => j.state === 'succeeded', 'the standby ran the reassigned job', 20_000);
    expect(moved.stages[0]!.attempts.map((a) => [a.node, a.state])).toEqual([
      ['prim', 'stale'],
      ['stby', 'succeeded'],
    ]);
    expect((await fleet.nodes()).find((n) => n.name === 'prim')!.state).toBe('down');

    fleet.agent('prim').signal('SIGCONT');
    frozen = false;
    await fleet.waitNodesReady(['prim']);
    await waitFor('the superseded run on the primary is stopped', () => !pidAlive(pid1), 15_000);
    await checkInvariants(fleet, 'queued-1');
    await checkInvariants(fleet, 'long-1');
    expect(runsRecorded(marker('queued-1'))).toEqual(['stby 1']);
    expect(runsRecorded(marker('long-1'))).toEqual(['prim 1', 'stby 2']);
  });

  it('once the primary is back, new work goes to it and not to the idle standby', async () => {
    await fleet.waitNodesReady(['prim', 'stby']);
    // the primary's slot is free again once its superseded run has been reported
    await waitFor('primary idle', async () => (await fleet.nodes()).find((n) => n.name === 'prim')!.running === 0, 15_000);
    for (const id of ['back-1', 'back-2']) {
      await fleet.cli(['submit', '--label', 'role=runner', '--id', id, '--', ...cmd(id)]);
      const j = await fleet.waitJob(id, (x) => x.state === 'succeeded');
      expect(j.stages[0]!.attempts.map((a) => a.node)).toEqual(['prim']);
      expect(runsRecorded(marker(id))).toEqual(['prim 1']);
    }
  });
});
