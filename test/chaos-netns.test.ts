// A node cut off the network (its cable pulled, in a network namespace): the
// coordinator reassigns its stage, the node fences its run on its own, and when the
// cable is back the two reconcile - the late result is kept as stale history.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, requireNetns, type Fleet as NetFleet } from './fleet/netns.js';
import { checkInvariants } from './harness/invariants.js';
import { Fleet, waitFor } from './harness/processes.js';

const cap = await requireNetns(['ip', 'nats-server']);
if (!cap.ok) console.warn(`chaos-netns skipped (outside CI): ${cap.reason}`);

describe.skipIf(!cap.ok)('network partition in namespaces', () => {
  let net: NetFleet;
  let fleet: Fleet;

  beforeAll(async () => {
    net = await createFleet({ prefix: 'mrc', count: 3 });
    const [bus, a, b] = net.machines as [NetFleet['machines'][number], NetFleet['machines'][number], NetFleet['machines'][number]];
    fleet = await Fleet.start({ busNetns: bus.netns, busHost: bus.underlayIp });
    const nats = `tls://${bus.underlayIp}:${fleet.nats.port}`;
    await fleet.startAgent({ node: 'alpha', labels: 'pool=x', netns: a.netns, extra: ['--nats', nats] });
    await fleet.startAgent({ node: 'beta', labels: 'pool=x', netns: b.netns, extra: ['--nats', nats] });
    await fleet.waitNodesReady(['alpha', 'beta']);
  });

  afterAll(async () => {
    await fleet?.destroy();
    await net?.destroy();
  });

  it('link down -> reassign -> self-fencing -> link up -> reconciliation', async () => {
    const sub = await fleet.cli(['submit', '--label', 'pool=x', '--id', 'cut-1', '--', 'sh', '-c', 'i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo "tick $i on $MESHRUN_NODE"; sleep 0.2; done']);
    expect(sub.code, sub.stderr).toBe(0);
    const first = await fleet.waitJob('cut-1', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    const cutNode = first.stages[0]!.node!;
    const other = cutNode === 'alpha' ? 'beta' : 'alpha';
    const machine = net.machines[cutNode === 'alpha' ? 1 : 2]!;
    const cutAt = Date.now();
    await net.linkDown(machine);

    const moved = await fleet.waitJob('cut-1', (j) => j.stages[0]!.attempts.length === 2, 'reassigned', 20_000);
    const reassignedAfterMs = Date.now() - cutAt;
    expect(moved.stages[0]!.attempts[0]!.state).toBe('stale');
    expect(moved.stages[0]!.attempts[1]!.node).toBe(other);
    expect((await fleet.nodes()).find((n) => n.name === cutNode)!.state).toBe('down');

    // the cut-off node stopped its run by itself, before the replacement started
    const stem1 = join(fleet.agentDir(cutNode), 'runs', 'cut-1', 'run.1');
    const meta1 = await waitFor('the cut-off run to end', () => {
      const m = JSON.parse(readFileSync(`${stem1}.json`, 'utf8'));
      return m.endedAt ? m : undefined;
    }, 10_000);
    expect(meta1.stopReason).toBe('fenced');
    const stem2 = join(fleet.agentDir(other), 'runs', 'cut-1', 'run.2');
    const meta2 = await waitFor('the replacement to start', () => {
      const m = JSON.parse(readFileSync(`${stem2}.json`, 'utf8'));
      return m.startedAt ? m : undefined;
    }, 10_000);
    expect(meta1.endedAt, 'fenced before the replacement started (one attempt at a time)').toBeLessThanOrEqual(meta2.startedAt);

    await net.linkUp(machine);
    await fleet.waitNodesReady([cutNode], 30_000);
    await waitFor('the late result reaches the history', async () => (await fleet.job('cut-1')).stages[0]!.attempts[0]!.staleResult !== null, 30_000);
    const done = await fleet.waitJob('cut-1', (j) => j.state === 'succeeded', 'succeeded', 30_000);
    expect(done.stages[0]!.node).toBe(other);
    const job = await checkInvariants(fleet, 'cut-1');
    expect(job.stages[0]!.attempts[0]!.staleResult).toMatch(/exit|vanished/);
    console.info(`partition: reassigned ${reassignedAfterMs} ms after the cable was pulled`);
  });
});
