// The job machine's transition tables, walked: seeded random walks of every kind of event
// over several job shapes and failover policies must make only transitions the tables
// allow, and every row of the tables must be reached by some walk (no dead rows).
import { describe, expect, it } from 'vitest';
import {
  ATTEMPT_TRANSITIONS,
  currentAttempt,
  JOB_TRANSITIONS,
  newJobRecord,
  rerunPlan,
  STAGE_TRANSITIONS,
  step,
  type FanoutPlacer,
  type JobEvent,
  type Transition,
} from '../coordinator/job-machine.js';
import { jobSpecSchema } from '../proto/job-spec.js';
import type { JobRecord } from '../proto/records.js';
import { rng } from './harness/rng.js';

type Obj = Record<string, unknown>;


const POLICIES = ['reassign', 'fail', { wait: '1s' }] as const;
/** Retry policies the walks give stages (undefined: none). */
const RETRIES = [undefined, undefined, { attempts: 2 }, { attempts: 3, delay: '1s' }, { attempts: 2, on: ['timeout', 'lost'] }] as const;
const SHAPES: ((p: () => unknown) => Obj[])[] = [
  (p) => [{ name: 'only', failover: p() }],
  (p) => [
    { name: 'build', failover: p() },
    { name: 'test', failover: p() },
    { name: 'cleanup', always: true, failover: p() },
  ],
  (p) => [
    { name: 'prep', failover: p() },
    { name: 'left', needs: ['prep'], failover: p() },
    { name: 'right', needs: ['prep'], failover: p() },
    { name: 'join', needs: ['left', 'right'], failover: p() },
  ],
  // stages on all nodes (fan-out): no `failover: wait` there, a lost node's share is lost
  () => [{ name: 'fan', on: { labels: {}, all: true, failTolerance: 1 } }],
  (p) => [
    { name: 'build', failover: p() },
    { name: 'fan', on: { labels: {}, all: true, maxParallel: 1 }, failover: 'fail' },
    { name: 'cleanup', always: true, on: { labels: {}, all: true, failTolerance: '50%' } },
  ],
];

function randomJob(r: () => number, shape: number): JobRecord {
  const pick = (): unknown => POLICIES[Math.floor(r() * POLICIES.length)];
  const retry = (): object => {
    const p = RETRIES[Math.floor(r() * RETRIES.length)];
    return p ? { retry: p } : {};
  };
  // a stage on all nodes takes no retry policy (the schema refuses one): it is re-run by a new run only
  const stages = SHAPES[shape]!(pick).map((s) => ({ on: { labels: {} }, run: { command: ['true'] }, ...((s.on as { all?: boolean } | undefined)?.all ? {} : retry()), ...s }));
  return newJobRecord('j', jobSpecSchema.parse({ name: 'walk', stages }), 0, null);
}

/** One random event that could happen to this job now. */
function randomEvent(r: () => number, job: JobRecord): JobEvent {
  const nodes = ['n1', 'n2'];
  const node = nodes[Math.floor(r() * nodes.length)]!;
  const attempts = job.stages.flatMap((s) => s.attempts.map((a) => ({ token: { job: job.id, stage: s.name, attempt: a.attempt }, node: a.node })));
  const some = attempts.length > 0 ? attempts[Math.floor(r() * attempts.length)]! : undefined;
  const roll = r();
  if (!some && roll < 0.1) return { kind: 'cancel' };
  if (roll < 0.3 || !some) {
    const fanout: FanoutPlacer = {
      // now and then no node at all, else one to three of them
      targets: () => (r() < 0.1 ? [] : ['n1', 'n2', 'n3'].slice(0, 1 + Math.floor(r() * 3))),
      placeOn: (_s, n) => (r() < 0.8 ? { ok: true, node: n } : { ok: false, reason: `node ${n} has no free slot` }),
      gone: () => r() < 0.1,
    };
    return { kind: 'place', place: () => (r() < 0.8 ? { ok: true, node } : { ok: false, reason: 'no ready node' }), runRootOf: () => '/var/lib/meshrun/runs', fanout };
  }
  if (roll < 0.45) return { kind: 'started', token: some.token, startedAt: 1 };
  if (roll < 0.7) {
    const stopReasons = [null, null, null, 'timeout', 'cancelled', 'superseded', 'fenced'] as const;
    const stopReason = stopReasons[Math.floor(r() * stopReasons.length)]!;
    return { kind: 'exited', token: some.token, report: { exitCode: r() < 0.6 ? 0 : 2, signal: null, endedAt: 2, logBytes: 0, stopReason, vanished: r() < 0.05 } };
  }
  if (roll < 0.75) return { kind: 'rejected', token: some.token, reason: 'workspace damaged' };
  if (roll < 0.8) return { kind: 'cancel' };
  if (roll < 0.88) return { kind: 'node-lost', node: some.node, why: `node ${some.node} down` };
  if (roll < 0.93) return { kind: 'node-back', node: some.node };
  if (roll < 0.98) return { kind: 'wait-expired' };
  const h = job.handoffs[0];
  return h ? { kind: 'handoff-acked', handoff: h } : { kind: 'pruned', node };
}

function walk(seed: number): { transitions: Transition[]; illegal: Transition[]; job: JobRecord } {
  const r = rng(seed);
  const job = randomJob(r, seed % SHAPES.length);
  const transitions: Transition[] = [];
  const illegal: Transition[] = [];
  let now = 0;
  // an ended job is retried (meshrun retry) at most once per walk, in half the walks
  let retried = r() < 0.5 ? 0 : 1;
  for (let i = 0; i < 60 + 40 * retried; i++) {
    if (job.endedAt !== null) {
      if (retried > 0) break;
      retried = 1;
      const from = r() < 0.5 ? job.stages[Math.floor(r() * job.stages.length)]!.name : null;
      const plan = rerunPlan(job, from);
      if (!plan.ok) break;
      const res = step(job, { kind: 'retry', rerun: plan.rerun, from, by: 'walker' }, now);
      transitions.push(...res.transitions);
      illegal.push(...res.illegal.map((t) => ({ ...t, what: `seed ${seed} step ${i} (retry): ${t.what}` })));
      continue;
    }
    now += Math.floor(r() * 800);
    const res = step(job, randomEvent(r, job), now);
    transitions.push(...res.transitions);
    illegal.push(...res.illegal.map((t) => ({ ...t, what: `seed ${seed} step ${i}: ${t.what}` })));
  }
  return { transitions, illegal, job };
}

function rows(table: Record<string, Record<string, readonly string[]> | undefined>, level: string): string[] {
  const out: string[] = [];
  for (const [from, tos] of Object.entries(table)) for (const [to, events] of Object.entries(tos ?? {})) for (const e of events) out.push(`${level} ${from} -> ${to} on ${e}`);
  return out;
}

const row = (t: Transition): string => `${t.level} ${t.from ?? 'new'} -> ${t.to} on ${t.event}`;

describe('the job machine walks only its tables, and reaches every row', () => {
  const WALKS = 6000;
  const seen = new Set<string>();
  const illegal: Transition[] = [];
  let ended = 0;
  for (let seed = 1; seed <= WALKS; seed++) {
    const w = walk(seed);
    for (const t of w.transitions) seen.add(row(t));
    illegal.push(...w.illegal);
    if (w.job.endedAt !== null) ended++;
  }

  it('no walk makes a transition outside the tables', () => {
    expect([...new Set(illegal.map(row))]).toEqual([]);
  });

  it('most walks end their job (the walks are long enough to mean something)', () => {
    expect(ended).toBeGreaterThan(WALKS / 2);
  });

  it.each(rows(ATTEMPT_TRANSITIONS as never, 'attempt'))('%s is reached', (r) => expect(seen).toContain(r));
  it.each(rows(STAGE_TRANSITIONS as never, 'stage'))('%s is reached', (r) => expect(seen).toContain(r));
  it.each(rows(JOB_TRANSITIONS as never, 'job'))('%s is reached', (r) => expect(seen).toContain(r));

  it('a terminal state is left only by a new run of the job (retry)', () => {
    const terminalAttempt = ['succeeded', 'failed', 'cancelled', 'timeout', 'lost', 'stale'];
    const terminalStage = ['succeeded', 'failed', 'cancelled', 'timeout', 'lost', 'skipped'];
    const left = [...seen].filter((r) => {
      if (r.endsWith(' on retry')) return false;
      const [level, from] = r.split(' ');
      return (level === 'attempt' && terminalAttempt.includes(from!)) || (level === 'stage' && terminalStage.includes(from!)) || (level === 'job' && from !== 'queued' && from !== 'running');
    });
    expect(left).toEqual([]);
  });
});

describe('step: effects follow the record', () => {
  const spec = (stages: Obj[]): JobRecord =>
    newJobRecord('j', jobSpecSchema.parse({ name: 'x', stages: stages.map((s) => ({ on: { labels: {} }, run: { command: ['true'] }, ...s })) }), 0, null);
  const on = (node: string): JobEvent => ({ kind: 'place', place: () => ({ ok: true, node }), runRootOf: (n) => `/runs-${n}` });

  it('a placement pass returns one start per placed stage, for the attempt it recorded', () => {
    const job = spec([{ name: 'a' }, { name: 'b', needs: [] }]);
    const r = step(job, on('n1'), 10);
    expect(r.effects.map((e) => e.type === 'start' && `${e.node} ${e.token.stage}/${e.token.attempt}`)).toEqual(['n1 a/1', 'n1 b/1']);
    expect(r.transitions.filter((t) => t.level === 'attempt').map(row)).toEqual(['attempt new -> starting on place', 'attempt new -> starting on place']);
  });

  it('a stage placed on another node than the one before records a handoff and asks for its marker', () => {
    const job = spec([{ name: 'a' }, { name: 'b' }]);
    step(job, on('n1'), 10);
    step(job, { kind: 'exited', token: { job: 'j', stage: 'a', attempt: 1 }, report: { exitCode: 0, signal: null, endedAt: 11, logBytes: 0, stopReason: null, vanished: false } }, 11);
    const r = step(job, on('n2'), 12);
    const h = r.effects.find((e) => e.type === 'handoff');
    expect(h && h.type === 'handoff' && h.handoff).toMatchObject({ from: { stage: 'a', node: 'n1' }, to: { stage: 'b', node: 'n2', runDir: '/runs-n2/j', log: '/runs-n2/j/b.1.log' }, acked: false });
    expect(step(job, { kind: 'handoff-acked', handoff: job.handoffs[0]! }, 13).changed).toBe(true);
    expect(job.handoffs[0]!.acked).toBe(true);
    expect(step(job, { kind: 'handoff-acked', handoff: job.handoffs[0]! }, 14).changed).toBe(false);
  });

  it('node-lost under `wait` starts the clock; wait-expired reassigns only once the wait is over', () => {
    const job = spec([{ name: 'a', failover: { wait: '1s' } }]);
    step(job, on('n1'), 0);
    expect(step(job, { kind: 'node-lost', node: 'n1', why: 'node n1 down' }, 100).transitions).toEqual([]);
    expect(job.stages[0]!.nodeDownSince).toBe(100);
    expect(step(job, { kind: 'wait-expired' }, 1099).changed).toBe(false);
    const r = step(job, { kind: 'wait-expired' }, 1100);
    expect(r.transitions.map(row)).toEqual(['attempt starting -> stale on wait-expired', 'stage running -> queued on wait-expired']);
    expect(currentAttempt(job.stages[0]!)!.reason).toContain('did not come back within 1000ms');
  });

  it('node-back ends the wait without touching the attempt', () => {
    const job = spec([{ name: 'a', failover: { wait: '1s' } }]);
    step(job, on('n1'), 0);
    step(job, { kind: 'node-lost', node: 'n1', why: 'node n1 down' }, 100);
    expect(step(job, { kind: 'node-back', node: 'n1' }, 200).changed).toBe(true);
    expect(job.stages[0]!.nodeDownSince).toBeNull();
    expect(step(job, { kind: 'wait-expired' }, 5000).changed).toBe(false);
  });

  it('node-lost honours `only`: a wiped node loses just the runs it no longer reports', () => {
    const job = spec([{ name: 'a' }, { name: 'b', needs: [] }]);
    step(job, on('n1'), 0);
    const r = step(job, { kind: 'node-lost', node: 'n1', why: 'the node lost its runner files', only: (t) => t.stage === 'b' }, 10);
    expect(r.transitions.map(row)).toEqual(['attempt starting -> stale on node-lost', 'stage running -> queued on node-lost']);
    expect(job.stages[0]!.state).toBe('running');
  });

  it('rejected fails the stage with the agent\'s reason', () => {
    const job = spec([{ name: 'a' }]);
    step(job, on('n1'), 0);
    step(job, { kind: 'rejected', token: { job: 'j', stage: 'a', attempt: 1 }, reason: 'workspace 0123 is damaged' }, 5);
    expect(job.state).toBe('failed');
    expect(job.stages[0]!.reason).toBe('agent rejected the run: workspace 0123 is damaged');
  });

  it('cancel returns the stops; a second cancel changes nothing', () => {
    const job = spec([{ name: 'a' }]);
    step(job, on('n1'), 0);
    const r = step(job, { kind: 'cancel' }, 5);
    expect(r.effects).toEqual([{ type: 'stop', node: 'n1', token: { job: 'j', stage: 'a', attempt: 1 }, reason: 'cancelled' }]);
    expect(step(job, { kind: 'cancel' }, 6)).toMatchObject({ changed: false, effects: [] });
  });

  it('pruned records the node once', () => {
    const job = spec([{ name: 'a' }]);
    expect(step(job, { kind: 'pruned', node: 'n1' }, 0).changed).toBe(true);
    expect(step(job, { kind: 'pruned', node: 'n1' }, 0).changed).toBe(false);
    expect(job.pruned).toEqual(['n1']);
  });
});
