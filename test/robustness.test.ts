// Garbage and wrongly-shaped messages on the coordinator's and agents' subjects:
// the daemons log and drop them, keep running and keep working.
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, runCli, waitFor } from './harness/processes.js';

let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'role=bastion' }] });
});

afterAll(async () => {
  await fleet?.destroy();
});

describe('bad bus messages', () => {
  it('the coordinator and agent survive garbage, wrong shapes and spoofed subjects', async () => {
    const nc = await fleet.natsConnect();
    const js = jetstream(nc);
    const garbage: (string | Uint8Array)[] = [
      'not json',
      '',
      new Uint8Array([0xff, 0x00, 0xfe]),
      '{"type":"start"}',
      JSON.stringify({ type: 'start', token: { job: '../../etc', stage: 'x', attempt: 1 }, argv: ['true'], env: {}, failover: 'reassign', jobName: 'x' }),
      JSON.stringify({ type: 'stop', token: { job: 'j', stage: 's', attempt: -1 }, reason: 'cancelled' }),
      JSON.stringify({ type: 'bogus' }),
      JSON.stringify([1, 2, 3]),
      'null',
    ];
    const replies: string[] = [];
    for (const g of garbage) {
      const r = await nc.request('mr.agent.alpha.cmd', g, { timeout: 2000 });
      replies.push(r.string());
      await nc.request('mr.node.alpha.hb', g, { timeout: 2000 }).catch(() => undefined);
      nc.publish('mr.node.alpha.hb', g);
      await js.publish('mr.evt.alpha', g).catch(() => undefined);
      await js.publish('mr.out.j.s.1.alpha.log', g).catch(() => undefined);
    }
    // every command got a refusal that says what was wrong, never a crash
    for (const r of replies) expect(JSON.parse(r)).toMatchObject({ ok: false });
    expect(replies.some((r) => /token\.job/.test(r))).toBe(true);
    // a heartbeat claiming another node's name on alpha's subject is ignored
    nc.publish('mr.node.alpha.hb', JSON.stringify({ node: 'mallory', instance: 'x1234567', labels: {}, slots: 1, standby: false, version: '1', runs: [], sentAt: 1 }));
    // a well-formed event for a job that does not exist
    await js.publish('mr.evt.alpha', JSON.stringify({ id: 'zz-1', seq: 1, event: { kind: 'exited', node: 'alpha', token: { job: 'nope', stage: 's', attempt: 1 }, exitCode: 0, signal: null, endedAt: 1, logBytes: 0, stopReason: null } }));
    await nc.drain();

    expect(fleet.coordinator.alive).toBe(true);
    expect(fleet.agent('alpha').alive).toBe(true);
    const nodes = await fleet.nodes();
    expect(nodes.map((n) => n.name)).not.toContain('mallory');
    const r = await fleet.cli(['submit', '--on', 'alpha', '--follow', '--', 'echo', 'still works']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('still works\n');
    expect(fleet.coordinator.log()).toMatch(/invalid (heartbeat|run event)/);
    expect(fleet.agent('alpha').log()).toMatch(/invalid command ignored/);
  });

  it('the gRPC door rejects bad requests with a clear message', async () => {
    const bad = await fleet.cli(['submit', '--on', 'alpha', '--id', 'has.dot', '--', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--id has\.dot/);
    const logs = await fleet.cli(['logs', 'bad/id']);
    expect(logs.code).toBe(2);
    expect(logs.stderr).toMatch(/id: must be letters/);
  });
});

describe('one agent per state directory', () => {
  it('a second agent on the same state directory refuses to start, naming the holder; the lock goes with the holder', async () => {
    const creds = join(fleet.dir, 'creds', 'alpha.creds');
    const second = ['agent', ...fleet.busFlags(creds), '--node', 'alpha', '--state-dir', fleet.agentDir('alpha')];
    const r = await runCli(second, { timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`in use by another agent \\(pid ${fleet.agent('alpha').pid}\\)`));
    // the holder was not disturbed
    expect(fleet.agent('alpha').alive).toBe(true);
    await fleet.waitNodesReady(['alpha']);
    // killed for real, the holder leaves no stale lock: a new agent takes the directory
    await fleet.agent('alpha').kill('SIGKILL');
    const next = await fleet.startAgent({ node: 'alpha', labels: 'role=bastion' });
    await waitFor('the new agent holds the directory', () => readFileSync(join(fleet.agentDir('alpha'), 'agent.pid'), 'utf8').trim() === String(next.pid));
    expect(next.alive).toBe(true);
  });
});
