// Unit tests for stages on all nodes (fan-out), the pure parts: targets fixed when the stage
// becomes runnable, maxParallel, failTolerance (counts and percentages), lost shares never
// moved, busy nodes waiting their turn, the width limit, the per-node view, and that a node
// holds only its own share (blobs and secrets); plus fanoutTargets' choice of nodes.
import { describe, expect, it } from 'vitest';
import { activeAttempts, nodeShares, rerunPlan, runVerdict, step, type FanoutPlacer, type JobEvent, newJobRecord } from '../coordinator/job-machine.js';
import { fanoutTargets, type NodeView } from '../coordinator/scheduler.js';
import { whyNotHolder } from '../coordinator/blob-service.js';
import { jobSpecSchema, toleratedFailures } from '../proto/job-spec.js';
import type { JobRecord } from '../proto/records.js';
import { Limits } from '../lib/limits.js';
import { parseWith } from '../proto/validation.js';

type Obj = Record<string, unknown>;

function fanJob(on: Obj = {}, more: Obj[] = []): JobRecord {
  const spec = jobSpecSchema.parse({
    name: 'fan',
    stages: [{ name: 'fan', on: { labels: { role: 'web' }, all: true, ...on }, run: { command: ['uptime'] } }, ...more],
  });
  return newJobRecord('j1', spec, 1000, null);
}

/** A placement pass over a fleet of `nodes`; `busy` nodes have no free slot, `gone` ones are down. */
function pass(nodes: string[], o: { busy?: string[]; gone?: string[] } = {}): JobEvent {
  const fanout: FanoutPlacer = {
    targets: () => [...nodes],
    placeOn: (_s, n) => (o.busy?.includes(n) ? { ok: false, reason: `node ${n} has no free slot (4/4 running)` } : { ok: true, node: n }),
    gone: (n) => o.gone?.includes(n) ?? false,
  };
  return { kind: 'place', place: () => ({ ok: true, node: 'db1' }), runRootOf: () => '/runs', fanout };
}

const WEB = ['web1', 'web2', 'web3'];
const fan = (job: JobRecord) => job.stages[0]!;
const tok = (job: JobRecord, node: string) => {
  const a = fan(job).attempts.find((x) => x.node === node)!;
  return { job: job.id, stage: 'fan', attempt: a.attempt };
};
const exitOn = (job: JobRecord, node: string, code: number, now = 3000) =>
  step(job, { kind: 'exited', token: tok(job, node), report: { exitCode: code, signal: null, endedAt: now, logBytes: 0, stopReason: null, vanished: false, outputs: { K: 'v' } } }, now);
const states = (job: JobRecord) => nodeShares(job, fan(job)).map((n) => `${n.node}:${n.state}`);

describe('fan-out in the job machine', () => {
  it('fixes its targets when it becomes runnable and starts one attempt per node, each on that node', () => {
    const job = fanJob();
    const r = step(job, pass(WEB), 2000);
    expect(fan(job).targets).toEqual(WEB);
    expect(r.effects.map((e) => (e.type === 'start' ? `${e.node}#${e.token.attempt}` : e.type))).toEqual(['web1#1', 'web2#2', 'web3#3']);
    expect(fan(job).state).toBe('running');
    // a node that joins later is not a target; nothing more starts
    expect(step(job, pass([...WEB, 'web4']), 2500).effects).toEqual([]);
    expect(fan(job).targets).toEqual(WEB);
    // every active attempt holds a slot on its node
    expect(activeAttempts(job).map((a) => a.node)).toEqual(WEB);
    for (const n of WEB) expect(runVerdict(job, tok(job, n), n)).toBe('current');
  });

  it('succeeds within the tolerance, fails past it, with the first failed node\'s exit code; outputs are not passed on', () => {
    for (const [tolerance, want] of [[1, 'succeeded'], [0, 'failed']] as const) {
      const job = fanJob({ failTolerance: tolerance });
      step(job, pass(WEB), 2000);
      exitOn(job, 'web1', 0);
      exitOn(job, 'web2', 4);
      expect(fan(job).state).toBe('running');
      exitOn(job, 'web3', 0);
      expect(fan(job).state).toBe(want);
      expect(job.state).toBe(want);
      expect(job.exitCode).toBe(want === 'failed' ? 4 : 0);
      expect(fan(job).outputs).toEqual({});
    }
  });

  it('maxParallel: at most that many run; the next starts when one ends', () => {
    const job = fanJob({ maxParallel: 2 });
    expect(step(job, pass(WEB), 2000).effects).toHaveLength(2);
    expect(step(job, pass(WEB), 2100).effects).toEqual([]);
    expect(fan(job).reason).toBe('0 of 3 nodes succeeded, 2 running, 1 to start');
    exitOn(job, 'web1', 0);
    const next = step(job, pass(WEB), 3100).effects;
    expect(next).toMatchObject([{ type: 'start', node: 'web3' }]);
  });

  it('past the tolerance no further node starts; the rest are skipped in the per-node view', () => {
    const job = fanJob({ maxParallel: 1 });
    step(job, pass(WEB), 2000);
    exitOn(job, 'web1', 1);
    expect(step(job, pass(WEB), 3100).effects).toEqual([]);
    expect(fan(job).state).toBe('failed');
    expect(states(job)).toEqual(['web1:failed', 'web2:skipped', 'web3:skipped']);
    expect(fan(job).attempts).toHaveLength(1);
  });

  it('a lost node\'s share is lost, never placed elsewhere (whatever the failover policy)', () => {
    const job = fanJob({ failTolerance: 1 });
    step(job, pass(WEB), 2000);
    const r = step(job, { kind: 'node-lost', node: 'web2', why: 'node web2 down' }, 2500);
    expect(r.effects).toEqual([]);
    expect(states(job)).toEqual(['web1:starting', 'web2:lost', 'web3:starting']);
    // the next pass starts nothing in its place
    expect(step(job, pass(WEB), 2600).effects).toEqual([]);
    exitOn(job, 'web1', 0);
    exitOn(job, 'web3', 0);
    expect(fan(job).state).toBe('succeeded');
    expect(fan(job).reason).toBe('1 of 3 nodes did not succeed (web2 lost), within failTolerance 1');
    expect(fan(job).attempts).toHaveLength(3);
  });

  it('a node without a free slot waits its turn while the others start; a target down before its turn is lost', () => {
    const job = fanJob({ failTolerance: 1 });
    step(job, pass(WEB, { busy: ['web2'] }), 2000);
    expect(states(job)).toEqual(['web1:starting', 'web2:queued', 'web3:starting']);
    expect(fan(job).reason).toContain('waiting: node web2 has no free slot (4/4 running)');
    step(job, pass(WEB, { gone: ['web2'] }), 2500);
    expect(states(job)).toEqual(['web1:starting', 'web2:lost', 'web3:starting']);
    expect(fan(job).attempts.find((a) => a.node === 'web2')!.reason).toBe('node web2 was down before its turn');
  });

  it('no matching node, or more than the limit: the stage fails naming why', () => {
    const none = fanJob();
    step(none, pass([]), 2000);
    expect(fan(none).state).toBe('failed');
    expect(none.reason).toBe('stage fan failed: no ready node with labels role=web to run on (all: true)');
    const wide = fanJob();
    step(wide, pass(Array.from({ length: Limits.fanoutNodesMax + 1 }, (_, i) => `n${i}`)), 2000);
    expect(fan(wide).state).toBe('failed');
    expect(fan(wide).reason).toBe(`${Limits.fanoutNodesMax + 1} ready nodes have labels role=web, over the limit of ${Limits.fanoutNodesMax} for a stage on all nodes (limit fanoutNodesMax)`);
  });

  it('cancel stops every node\'s attempt; nodes not started are cancelled', () => {
    const job = fanJob({ maxParallel: 2 });
    step(job, pass(WEB), 2000);
    const r = step(job, { kind: 'cancel' }, 2500);
    expect(r.effects.map((e) => (e.type === 'stop' ? e.node : e.type))).toEqual(['web1', 'web2']);
    for (const n of ['web1', 'web2']) step(job, { kind: 'exited', token: tok(job, n), report: { exitCode: 143, signal: 'SIGTERM', endedAt: 3000, logBytes: 0, stopReason: 'cancelled', vanished: false } }, 3000);
    expect(job.state).toBe('cancelled');
    expect(states(job)).toEqual(['web1:cancelled', 'web2:cancelled', 'web3:cancelled']);
  });

  it('records no handoff marker to or from a fan-out', () => {
    const job = fanJob({}, [{ name: 'after', on: { node: 'db1' }, run: { command: ['true'] } }]);
    step(job, pass(WEB), 2000);
    for (const n of WEB) exitOn(job, n, 0);
    step(job, pass(WEB), 3500);
    expect(job.stages[1]!.state).toBe('running');
    expect(job.handoffs).toEqual([]);
  });

  it('a node holds only its own share: another node is refused its blobs and secrets', () => {
    const job = fanJob();
    step(job, pass(WEB), 2000);
    expect(whyNotHolder(job, tok(job, 'web2'), 'web2')).toBeUndefined();
    expect(whyNotHolder(job, tok(job, 'web2'), 'web1')).toBe('run j1/fan/2 is not held by node web1');
    exitOn(job, 'web2', 0);
    expect(whyNotHolder(job, tok(job, 'web2'), 'web2')).toBe('run j1/fan/2 has ended (succeeded)');
  });
});

describe('a new run (meshrun retry) of a job whose fan-out failed', () => {
  it('runs the stage on all its nodes again, targets fixed afresh; the outcome, exit code and per-node view are the new run\'s', () => {
    const job = fanJob({}, [{ name: 'after', needs: ['fan'], on: { node: 'db1' }, run: { command: ['true'] } }]);
    step(job, pass(WEB), 2000);
    exitOn(job, 'web1', 0);
    exitOn(job, 'web2', 5);
    exitOn(job, 'web3', 0);
    step(job, pass(WEB), 3500);
    expect(job.state).toBe('failed');
    expect(job.exitCode).toBe(5);
    expect(job.stages[1]!.state).toBe('skipped');
    const plan = rerunPlan(job, null);
    expect(plan).toEqual({ ok: true, rerun: ['fan', 'after'] });
    const r = step(job, { kind: 'retry', rerun: ['fan', 'after'], from: null, by: 'ops' }, 4000);
    expect(r.illegal).toEqual([]);
    expect(fan(job).targets).toBeUndefined();
    expect(nodeShares(job, fan(job))).toEqual([]);
    // web2 left the fleet, web4 joined: the new run's targets are the nodes ready now, each started
    const started = step(job, pass(['web1', 'web3', 'web4']), 5000).effects.map((e) => (e.type === 'start' ? `${e.node}#${e.token.attempt}` : e.type));
    expect(started).toEqual(['web1#4', 'web3#5', 'web4#6']);
    expect(fan(job).targets).toEqual(['web1', 'web3', 'web4']);
    expect(fan(job).attempts.slice(3).every((a) => a.run === 2)).toBe(true);
    expect(states(job)).toEqual(['web1:starting', 'web3:starting', 'web4:starting']);
    // the first run's failed web2 counts no more: every node of this run succeeds, so the stage does
    const last = (n: string) => fan(job).attempts.filter((a) => a.node === n).at(-1)!.attempt;
    for (const n of ['web1', 'web3', 'web4']) step(job, { kind: 'exited', token: { job: job.id, stage: 'fan', attempt: last(n) }, report: { exitCode: 0, signal: null, endedAt: 6000, logBytes: 0, stopReason: null, vanished: false } }, 6000);
    expect(fan(job).state).toBe('succeeded');
    expect(fan(job).reason).toBe('');
    expect(job.stages[1]!.state).toBe('queued');
  });

  it('a new run whose fan-out fails takes its exit code from this run\'s failed node, not the earlier run\'s', () => {
    const job = fanJob();
    step(job, pass(['web1']), 2000);
    exitOn(job, 'web1', 7);
    expect(job.exitCode).toBe(7);
    step(job, { kind: 'retry', rerun: ['fan'], from: null, by: 'ops' }, 3000);
    step(job, pass(['web1']), 3100);
    const a = fan(job).attempts.at(-1)!;
    expect(a).toMatchObject({ attempt: 2, run: 2, node: 'web1' });
    step(job, { kind: 'exited', token: { job: job.id, stage: 'fan', attempt: 2 }, report: { exitCode: 9, signal: null, endedAt: 4000, logBytes: 0, stopReason: null, vanished: false } }, 4000);
    expect(job.state).toBe('failed');
    expect(job.exitCode).toBe(9);
    expect(fan(job).reason).toMatch(/^1 of 1 nodes did not succeed \(web1 failed 9\)/);
  });
});

describe('failTolerance and targets', () => {
  it('a percentage is of the target nodes, rounded down', () => {
    expect(toleratedFailures(undefined, 5)).toBe(0);
    expect(toleratedFailures(2, 5)).toBe(2);
    expect(toleratedFailures('10%', 10)).toBe(1);
    expect(toleratedFailures('10%', 9)).toBe(0);
    expect(toleratedFailures('50%', 3)).toBe(1);
    expect(toleratedFailures('100%', 3)).toBe(3);
  });

  it('targets every ready, non-draining node with the labels, by name; standbys only when no primary has them', () => {
    const v = (name: string, o: Partial<NodeView> = {}): NodeView => ({ name, labels: { role: 'web' }, slots: 1, standby: false, draining: false, removed: false, state: 'ready', running: 1, ...o });
    const nodes = [v('web3'), v('web1'), v('web2', { draining: true }), v('web4', { state: 'down' }), v('web5', { removed: true }), v('db1', { labels: { role: 'db' } }), v('web6', { standby: true }), v('web7', { state: 'suspect' })];
    // full slots do not matter: a busy node waits its turn
    expect(fanoutTargets({ role: 'web' }, nodes)).toEqual(['web1', 'web3']);
    expect(fanoutTargets({ role: 'web' }, [v('web6', { standby: true })])).toEqual(['web6']);
    expect(fanoutTargets({ role: 'none' }, nodes)).toEqual([]);
  });
});

describe('job file: fan-out fields', () => {
  const errors = (on: Obj, extra: Obj = {}): string[] => {
    const r = parseWith(jobSpecSchema, { name: 'x', stages: [{ name: 's', on, run: { command: ['true'] }, ...extra }] });
    return r.ok ? [] : r.errors;
  };
  it('accepts all with labels, maxParallel and a count or percentage tolerance', () => {
    expect(errors({ labels: { role: 'web' }, all: true, maxParallel: 2, failTolerance: 1 })).toEqual([]);
    expect(errors({ labels: { role: 'web' }, all: true, failTolerance: '10%' }, { failover: 'fail' })).toEqual([]);
  });
  it('refuses each misuse, naming the field', () => {
    const hint = 'expected a whole number of nodes (0 or more) or a percentage of them such as "10%"';
    expect(errors({ node: 'web1', all: true })).toEqual(['stages[0].on.all: all: true runs on every node with the labels: give "labels", not "node"']);
    expect(errors({ labels: {}, maxParallel: 2 })).toEqual(['stages[0].on.maxParallel: maxParallel belongs to a stage on all nodes: add "all: true" (with "labels")']);
    expect(errors({ labels: {}, all: false, failTolerance: 0 })).toEqual(['stages[0].on.failTolerance: failTolerance belongs to a stage on all nodes: add "all: true" (with "labels")']);
    expect(errors({ labels: {}, all: true, maxParallel: 0 })).toEqual(['stages[0].on.maxParallel: expected a whole number of nodes, 1 or more']);
    expect(errors({ labels: {}, all: true, failTolerance: -1 })).toEqual([`stages[0].on.failTolerance: ${hint}`]);
    expect(errors({ labels: {}, all: true, failTolerance: '5 %' })).toEqual([`stages[0].on.failTolerance: ${hint}`]);
    expect(errors({ labels: {}, all: true, failTolerance: '101%' })).toEqual(['stages[0].on.failTolerance: a percentage is 0% to 100%']);
    expect(errors({ labels: {}, all: true }, { failover: { wait: '30s' } })[0]).toMatch(/^stages\[0\]\.failover: failover: \{wait\} does not apply to a stage on all nodes/);
    // its nodes are not retried one by one: no retry policy on a stage on all nodes
    expect(errors({ labels: {}, all: true }, { retry: { attempts: 2 } })).toEqual([
      'stages[0].retry: retry does not apply to a stage on all nodes (its nodes are not retried one by one): use failTolerance for nodes that may fail, or meshrun retry JOB to run the stage on all its nodes again',
    ]);
    expect(errors({ labels: {} }, { retry: { attempts: 2 } })).toEqual([]);
  });
});
