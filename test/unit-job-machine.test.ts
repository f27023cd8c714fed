// Unit tests for the pure job state machine: placement passes, run events, failover by
// policy, stale attempts that never become the stage's result, and cancel with cleanup.

import { describe, expect, it } from 'vitest';
import {
  advance,
  applyExited,
  applyStarted,
  authoritativeNode,
  currentAttempt,
  newJobRecord,
  requestCancel,
  summarize,
  type ExitReport,
} from '../coordinator/job-machine.js';
import type { PlacementResult } from '../coordinator/scheduler.js';
import { jobSpecSchema, type JobSpec, type StageSpec } from '../proto/job-spec.js';
import type { RunToken } from '../proto/names.js';
import type { JobRecord, StageRecord } from '../proto/records.js';

type Obj = Record<string, unknown>;

const st = (name: string, over: Obj = {}): Obj => ({ name, on: { node: 'n1' }, run: { command: ['true'] }, ...over });
const specOf = (stages: Obj[]): JobSpec => jobSpecSchema.parse({ name: 'lab', stages });

function newJob(stages: Obj[], now = 1000): JobRecord {
  return newJobRecord('j1', specOf(stages), now, null);
}

/** A fake placer: every stage goes to `n1` unless told otherwise; records who asked. */
function placer(results: Record<string, PlacementResult> = {}) {
  const calls: string[] = [];
  const fn = (s: StageSpec): PlacementResult => {
    calls.push(s.name);
    return results[s.name] ?? { ok: true, node: 'n1' };
  };
  return { calls, fn };
}
const anywhere = placer().fn;

function stageOf(job: JobRecord, name: string): StageRecord {
  const s = job.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
}

function tokenOf(job: JobRecord, name: string): RunToken {
  const a = currentAttempt(stageOf(job, name));
  if (!a) throw new Error(`stage ${name} has no attempt`);
  return { job: job.id, stage: name, attempt: a.attempt };
}

function exit(exitCode: number, over: Partial<ExitReport> = {}): ExitReport {
  return { exitCode, signal: null, endedAt: 5000, logBytes: 42, stopReason: null, vanished: false, ...over };
}

/** The stage's current attempt starts and exits with `code`. */
function run(job: JobRecord, name: string, code: number, over: Partial<ExitReport> = {}): void {
  const t = tokenOf(job, name);
  applyStarted(job, t, 2000);
  expect(applyExited(job, t, exit(code, over), 5000)).toBe(true);
}

const states = (job: JobRecord) => Object.fromEntries(job.stages.map((s) => [s.name, s.state]));

describe('newJobRecord', () => {
  it('starts queued, with one queued stage per spec stage and no attempts', () => {
    const spec = specOf([st('a'), st('b')]);
    const job = newJobRecord('j1', spec, 1234, 'ws-digest');
    expect(job).toMatchObject({
      id: 'j1',
      name: 'lab',
      spec,
      state: 'queued',
      exitCode: null,
      reason: '',
      submittedAt: 1234,
      startedAt: null,
      endedAt: null,
      cancelRequested: false,
      workspace: 'ws-digest',
      revision: 0,
    });
    expect(job.stages).toEqual([
      { name: 'a', state: 'queued', reason: '', attempts: [], nodeDownSince: null, outputs: {} },
      { name: 'b', state: 'queued', reason: '', attempts: [], nodeDownSince: null, outputs: {} },
    ]);
  });
});

describe('advance: sequential stages in file order', () => {
  it('places only the first stage, the others wait for the one before them', () => {
    const job = newJob([st('a'), st('b'), st('c')]);
    const p = placer({ a: { ok: true, node: 'bastion' } });
    const starts = advance(job, 1500, p.fn);
    expect(p.calls).toEqual(['a']);
    expect(starts).toEqual([
      { type: 'start', node: 'bastion', token: { job: 'j1', stage: 'a', attempt: 1 }, stage: job.spec.stages[0] },
    ]);
    expect(stageOf(job, 'a')).toMatchObject({ state: 'running', reason: '' });
    expect(currentAttempt(stageOf(job, 'a'))).toEqual({
      attempt: 1,
      node: 'bastion',
      state: 'starting',
      exitCode: null,
      reason: '',
      assignedAt: 1500,
      startedAt: null,
      endedAt: null,
      logBytes: null,
      stopRequested: null,
      staleResult: null,
      artifacts: null,
      failures: [],
    });
    expect(stageOf(job, 'b')).toMatchObject({ state: 'queued', reason: 'waiting for a' });
    expect(stageOf(job, 'c')).toMatchObject({ state: 'queued', reason: 'waiting for b' });
    expect(job).toMatchObject({ state: 'running', startedAt: 1500, endedAt: null, exitCode: null });
  });

  it('a second pass without news starts nothing and does not ask for placement again', () => {
    const job = newJob([st('a'), st('b')]);
    advance(job, 1500, anywhere);
    const p = placer();
    expect(advance(job, 1600, p.fn)).toEqual([]);
    expect(p.calls).toEqual([]);
    expect(stageOf(job, 'a').attempts).toHaveLength(1);
  });

  it('each success lets the next stage start; all succeeded -> job succeeded with exit 0', () => {
    const job = newJob([st('a'), st('b'), st('c')]);
    for (const name of ['a', 'b', 'c']) {
      const starts = advance(job, 1500, anywhere);
      expect(starts.map((s) => s.token.stage)).toEqual([name]);
      run(job, name, 0);
    }
    expect(advance(job, 9000, anywhere)).toEqual([]);
    expect(job).toMatchObject({ state: 'succeeded', exitCode: 0, endedAt: 9000, startedAt: 1500 });
  });

  it('a finished job is never advanced again', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    run(job, 'a', 0);
    advance(job, 6000, anywhere);
    const p = placer();
    expect(advance(job, 7000, p.fn)).toEqual([]);
    expect(p.calls).toEqual([]);
    expect(job.endedAt).toBe(6000);
  });
});

describe('advance: failures skip what follows, always stages still run', () => {
  it('a failed stage skips the following stages and gives the job its exit code', () => {
    const job = newJob([st('a'), st('b'), st('c')]);
    advance(job, 1500, anywhere);
    run(job, 'a', 3);
    const p = placer();
    expect(advance(job, 6000, p.fn)).toEqual([]);
    expect(p.calls).toEqual([]);
    expect(states(job)).toEqual({ a: 'failed', b: 'skipped', c: 'skipped' });
    expect(stageOf(job, 'b').reason).toBe('a failed');
    expect(stageOf(job, 'c').reason).toBe('b skipped');
    expect(job).toMatchObject({ state: 'failed', exitCode: 3, reason: 'stage a failed: exit code 3', endedAt: 6000 });
  });

  it('an always stage runs after a failure; the job keeps the failed stage\'s exit code', () => {
    const job = newJob([st('setup'), st('run'), st('cleanup', { always: true })]);
    advance(job, 1500, anywhere);
    run(job, 'setup', 0);
    advance(job, 1500, anywhere);
    run(job, 'run', 2);
    const starts = advance(job, 6000, anywhere);
    expect(starts.map((s) => s.token)).toEqual([{ job: 'j1', stage: 'cleanup', attempt: 1 }]);
    expect(job).toMatchObject({ state: 'running', exitCode: null, endedAt: null });
    run(job, 'cleanup', 0);
    summarize(job, 7000);
    expect(states(job)).toEqual({ setup: 'succeeded', run: 'failed', cleanup: 'succeeded' });
    expect(job).toMatchObject({ state: 'failed', exitCode: 2, endedAt: 7000 });
  });

  it('an always stage runs in the same pass that skips the stages before it', () => {
    const job = newJob([st('setup'), st('run'), st('cleanup', { always: true })]);
    advance(job, 1500, anywhere);
    run(job, 'setup', 1);
    const starts = advance(job, 6000, anywhere);
    expect(starts.map((s) => s.token.stage)).toEqual(['cleanup']);
    expect(states(job)).toEqual({ setup: 'failed', run: 'skipped', cleanup: 'running' });
  });

  it('a failing always stage after a success fails the job with its own code', () => {
    const job = newJob([st('run'), st('cleanup', { always: true })]);
    advance(job, 1500, anywhere);
    run(job, 'run', 0);
    advance(job, 1500, anywhere);
    run(job, 'cleanup', 7);
    summarize(job, 8000);
    expect(job).toMatchObject({ state: 'failed', exitCode: 7, reason: 'stage cleanup failed: exit code 7' });
  });
});

describe('advance: the needs graph', () => {
  it('independent stages are placed in the same pass', () => {
    const job = newJob([st('x', { needs: [] }), st('y', { needs: [] }), st('z', { needs: ['x', 'y'] })]);
    const starts = advance(job, 1500, placer({ y: { ok: true, node: 'n2' } }).fn);
    expect(starts.map((s) => [s.token.stage, s.node])).toEqual([
      ['x', 'n1'],
      ['y', 'n2'],
    ]);
    expect(stageOf(job, 'z')).toMatchObject({ state: 'queued', reason: 'waiting for x, y' });
  });

  it('a diamond: both branches start together after prep; the join waits for both', () => {
    const job = newJob([st('prep'), st('b1', { needs: ['prep'] }), st('b2', { needs: ['prep'] }), st('join', { needs: ['b1', 'b2'] })]);
    advance(job, 1500, anywhere);
    run(job, 'prep', 0);
    expect(advance(job, 6000, anywhere).map((s) => s.token.stage)).toEqual(['b1', 'b2']);
    run(job, 'b1', 0);
    expect(advance(job, 6000, anywhere)).toEqual([]);
    expect(stageOf(job, 'join').reason).toBe('waiting for b2');
    run(job, 'b2', 4);
    advance(job, 7000, anywhere);
    expect(stageOf(job, 'join')).toMatchObject({ state: 'skipped', reason: 'b2 failed' });
    expect(job).toMatchObject({ state: 'failed', exitCode: 4 });
  });

  it('a stage may need a stage written after it', () => {
    const job = newJob([st('late', { needs: ['early'] }), st('early', { needs: [] })]);
    expect(advance(job, 1500, anywhere).map((s) => s.token.stage)).toEqual(['early']);
    run(job, 'early', 0);
    expect(advance(job, 6000, anywhere).map((s) => s.token.stage)).toEqual(['late']);
  });

  // Regression (fixed): before the fix, advance makes one pass in file order, so a skip (or a cancel) of a stage does
  // not reach a stage written *before* it that needs it. Here a fails; in the same pass
  // c is looked at while b is still queued ("waiting for b"), then b is skipped. The job
  // stays `running` with c queued, and nothing calls advance again (the coordinator
  // schedules on events, and no event will come), so the job never ends.
  // Expected: c skipped ("b skipped") and the job failed with exit 1 after this one pass.
  it('a skip reaches stages written before the stage they need, in one pass', () => {
    const job = newJob([st('c', { needs: ['b'] }), st('b', { needs: ['a'] }), st('a', { needs: [] })]);
    advance(job, 1500, anywhere);
    run(job, 'a', 1);
    advance(job, 6000, anywhere);
    expect(states(job)).toEqual({ c: 'skipped', b: 'skipped', a: 'failed' });
    expect(job).toMatchObject({ state: 'failed', exitCode: 1 });
  });

  // Same single-pass regression (fixed), through cancel: nothing started (placement waits), the job is
  // cancelled and the coordinator advances once; `late` is still "waiting for early" while
  // `early` becomes cancelled, so the cancelled job stays queued forever.
  it('a cancel before anything started ends the job in one pass, whatever the file order', () => {
    const job = newJob([st('late', { needs: ['early'] }), st('early', { needs: [] })]);
    advance(job, 1500, placer({ early: { ok: false, reason: 'node n1 is down' } }).fn);
    requestCancel(job);
    advance(job, 2000, anywhere);
    expect(job).toMatchObject({ state: 'cancelled', exitCode: 130 });
  });
});

describe('advance: waiting for placement', () => {
  it('a stage that cannot be placed stays queued with the placement reason, and so does the job', () => {
    const job = newJob([st('a', { on: { labels: { role: 'bastion' } } }), st('b')]);
    const starts = advance(job, 1500, placer({ a: { ok: false, reason: 'no ready node with labels role=bastion' } }).fn);
    expect(starts).toEqual([]);
    expect(stageOf(job, 'a')).toMatchObject({ state: 'queued', reason: 'no ready node with labels role=bastion', attempts: [] });
    expect(job).toMatchObject({ state: 'queued', reason: 'a: no ready node with labels role=bastion', startedAt: null });
    // the node shows up: the next pass places it and the reason clears
    expect(advance(job, 2500, anywhere).map((s) => s.token)).toEqual([{ job: 'j1', stage: 'a', attempt: 1 }]);
    expect(stageOf(job, 'a').reason).toBe('');
    expect(job).toMatchObject({ state: 'running', reason: '', startedAt: 2500 });
  });

  it('the placer is given the stage spec as written', () => {
    const job = newJob([st('a', { on: { labels: { heavy: 'true' } } })]);
    const seen: StageSpec[] = [];
    advance(job, 1500, (s) => {
      seen.push(s);
      return { ok: true, node: 'big' };
    });
    expect(seen).toEqual([job.spec.stages[0]]);
    expect(seen[0]!.on).toEqual({ labels: { heavy: 'true' } });
  });
});

describe('applyStarted', () => {
  it('moves the attempt from starting to running once, keeping the first start time', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    const t = tokenOf(job, 'a');
    expect(applyStarted(job, t, 2000)).toBe(true);
    expect(currentAttempt(stageOf(job, 'a'))).toMatchObject({ state: 'running', startedAt: 2000 });
    expect(applyStarted(job, t, 2100)).toBe(false);
    expect(currentAttempt(stageOf(job, 'a'))).toMatchObject({ state: 'running', startedAt: 2000 });
  });

  it('ignores tokens of another job, another stage or an unknown attempt', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    expect(applyStarted(job, { job: 'other', stage: 'a', attempt: 1 }, 2000)).toBe(false);
    expect(applyStarted(job, { job: 'j1', stage: 'zz', attempt: 1 }, 2000)).toBe(false);
    expect(applyStarted(job, { job: 'j1', stage: 'a', attempt: 2 }, 2000)).toBe(false);
    expect(currentAttempt(stageOf(job, 'a'))).toMatchObject({ state: 'starting', startedAt: null });
  });
});

describe('applyExited: the typed outcomes', () => {
  it('exit 0 -> attempt and stage succeeded', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    run(job, 'a', 0);
    expect(currentAttempt(stageOf(job, 'a'))).toMatchObject({ state: 'succeeded', exitCode: 0, endedAt: 5000, logBytes: 42 });
    expect(stageOf(job, 'a')).toMatchObject({ state: 'succeeded', reason: '' });
    // no playbook events: the record holds no count of them
    expect(currentAttempt(stageOf(job, 'a'))!.eventsBytes).toBeUndefined();
  });

  it('a playbook run\'s events size is kept with its attempt (a log follow waits for that many bytes)', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    run(job, 'a', 0, { eventsBytes: 1234 });
    expect(currentAttempt(stageOf(job, 'a'))).toMatchObject({ logBytes: 42, eventsBytes: 1234 });
  });

  it('an exit before its started event is still the stage\'s result', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    expect(applyExited(job, tokenOf(job, 'a'), exit(0), 5000)).toBe(true);
    expect(stageOf(job, 'a').state).toBe('succeeded');
  });

  it('non-zero -> failed, and the job exits with that code', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    run(job, 'a', 42);
    expect(currentAttempt(stageOf(job, 'a'))).toMatchObject({ state: 'failed', exitCode: 42 });
    expect(stageOf(job, 'a')).toMatchObject({ state: 'failed', reason: 'exit code 42' });
    summarize(job, 6000);
    expect(job).toMatchObject({ state: 'failed', exitCode: 42 });
  });

  it('stopReason timeout -> timeout, job exit 124', () => {
    const job = newJob([st('a', { timeout: '30s' })]);
    advance(job, 1500, anywhere);
    run(job, 'a', 143, { signal: 'SIGTERM', stopReason: 'timeout' });
    expect(currentAttempt(stageOf(job, 'a'))).toMatchObject({ state: 'timeout', reason: 'timed out after 30000ms' });
    expect(stageOf(job, 'a')).toMatchObject({ state: 'timeout', reason: 'timed out after 30000ms' });
    summarize(job, 6000);
    expect(job).toMatchObject({ state: 'timeout', exitCode: 124, reason: 'stage a timeout: timed out after 30000ms' });
  });

  it('stopReason cancelled -> cancelled, job exit 130', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    run(job, 'a', 143, { signal: 'SIGTERM', stopReason: 'cancelled' });
    expect(stageOf(job, 'a').state).toBe('cancelled');
    summarize(job, 6000);
    expect(job).toMatchObject({ state: 'cancelled', exitCode: 130 });
  });

  it.each<[string, Partial<ExitReport>, string, number | null]>([
    ['vanished', { vanished: true }, 'the process vanished without an exit status', null],
    ['fenced', { stopReason: 'fenced' }, 'the node fenced the run after losing its lease', 137],
  ])('%s under the default reassign: attempt superseded, stage re-queued, a new attempt placed', (_k, over, why, code) => {
    const job = newJob([st('a', { on: { labels: { role: 'runner' } } })]);
    advance(job, 1500, placer({ a: { ok: true, node: 'r1' } }).fn);
    run(job, 'a', 137, over);
    const first = stageOf(job, 'a').attempts[0]!;
    expect(first.state).toBe('stale');
    expect(first.reason).toBe(`${why} on r1; superseded by attempt 2`);
    expect(stageOf(job, 'a')).toMatchObject({ state: 'queued', reason: `reassigning: ${why} on r1` });
    expect(first.exitCode).toBe(code);
    const starts = advance(job, 6000, placer({ a: { ok: true, node: 'r2' } }).fn);
    expect(starts.map((s) => [s.node, s.token])).toEqual([['r2', { job: 'j1', stage: 'a', attempt: 2 }]]);
    expect(stageOf(job, 'a').attempts.map((a) => [a.attempt, a.node, a.state])).toEqual([
      [1, 'r1', 'stale'],
      [2, 'r2', 'starting'],
    ]);
    expect(job).toMatchObject({ state: 'running', endedAt: null });
  });

  it.each([
    ['vanished', { vanished: true }],
    ['fenced', { stopReason: 'fenced' as const }],
  ])('%s under failover: fail -> lost, job exit 125', (_k, over) => {
    const job = newJob([st('a', { failover: 'fail' }), st('b')]);
    advance(job, 1500, anywhere);
    run(job, 'a', 137, over);
    expect(currentAttempt(stageOf(job, 'a'))!.state).toBe('lost');
    expect(stageOf(job, 'a').state).toBe('lost');
    expect(stageOf(job, 'a').attempts).toHaveLength(1);
    advance(job, 6000, anywhere);
    expect(states(job)).toEqual({ a: 'lost', b: 'skipped' });
    expect(job).toMatchObject({ state: 'lost', exitCode: 125 });
  });
});

describe('applyExited: stale attempts and duplicates', () => {
  function reassigned(): JobRecord {
    const job = newJob([st('a'), st('b')]);
    advance(job, 1500, placer({ a: { ok: true, node: 'r1' } }).fn);
    run(job, 'a', 0, { vanished: true });
    advance(job, 6000, placer({ a: { ok: true, node: 'r2' } }).fn);
    applyStarted(job, { job: 'j1', stage: 'a', attempt: 2 }, 6100);
    return job;
  }

  it('an exit for a stale attempt only fills staleResult; the stage keeps its current attempt', () => {
    const job = reassigned();
    const before = structuredClone(stageOf(job, 'a').attempts[1]);
    expect(applyExited(job, { job: 'j1', stage: 'a', attempt: 1 }, exit(0, { endedAt: 7000 }), 7000)).toBe(true);
    const [old, cur] = stageOf(job, 'a').attempts;
    expect(old).toMatchObject({ state: 'stale', staleResult: 'succeeded', endedAt: 7000 });
    expect(cur).toEqual(before);
    expect(stageOf(job, 'a').state).toBe('running');
    expect(advance(job, 7000, anywhere)).toEqual([]);
    expect(stageOf(job, 'b').state).toBe('queued');
  });

  it('a failing stale exit does not fail the stage, and is recorded once', () => {
    const job = reassigned();
    const stale = { job: 'j1', stage: 'a', attempt: 1 };
    expect(applyExited(job, stale, exit(143, { signal: 'SIGTERM' }), 7000)).toBe(true);
    expect(stageOf(job, 'a').attempts[0]!.staleResult).toBe('exit 143 (SIGTERM)');
    expect(applyExited(job, stale, exit(0), 7100)).toBe(false);
    expect(stageOf(job, 'a').attempts[0]!.staleResult).toBe('exit 143 (SIGTERM)');
    expect(stageOf(job, 'a').state).toBe('running');
    // the current attempt's result is still taken
    run(job, 'a', 0);
    expect(stageOf(job, 'a').state).toBe('succeeded');
  });

  it('a duplicate exit is a no-op, even with a different code', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    const t = tokenOf(job, 'a');
    expect(applyExited(job, t, exit(0), 5000)).toBe(true);
    const snapshot = structuredClone(job);
    expect(applyExited(job, t, exit(1), 5100)).toBe(false);
    expect(applyExited(job, t, exit(0, { vanished: true }), 5100)).toBe(false);
    expect(job.stages).toEqual(snapshot.stages);
  });

  it('a started event arriving after the exit does not reopen the attempt', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    const t = tokenOf(job, 'a');
    applyExited(job, t, exit(0), 5000);
    expect(applyStarted(job, t, 2000)).toBe(true); // the start time is history worth keeping
    expect(currentAttempt(stageOf(job, 'a'))!.state).toBe('succeeded');
    expect(stageOf(job, 'a').state).toBe('succeeded');
  });

  it('an exit for an unknown attempt is ignored', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    expect(applyExited(job, { job: 'j1', stage: 'a', attempt: 5 }, exit(1), 5000)).toBe(false);
    expect(applyExited(job, { job: 'j2', stage: 'a', attempt: 1 }, exit(1), 5000)).toBe(false);
    expect(stageOf(job, 'a').state).toBe('running');
  });
});

describe('requestCancel', () => {
  it('stops the running non-always attempt; queued stages become cancelled, the always stage still runs', () => {
    const job = newJob([st('build'), st('deploy'), st('cleanup', { always: true })]);
    advance(job, 1500, placer({ build: { ok: true, node: 'bastion' } }).fn);
    applyStarted(job, tokenOf(job, 'build'), 2000);
    const stops = requestCancel(job);
    expect(stops).toEqual([{ type: 'stop', node: 'bastion', token: { job: 'j1', stage: 'build', attempt: 1 }, reason: 'cancelled' }]);
    expect(job.cancelRequested).toBe(true);
    expect(currentAttempt(stageOf(job, 'build'))!.stopRequested).toBe('cancelled');
    expect(requestCancel(job)).toEqual([]);

    run(job, 'build', 143, { signal: 'SIGTERM', stopReason: 'cancelled' });
    const starts = advance(job, 6000, anywhere);
    expect(starts.map((s) => s.token.stage)).toEqual(['cleanup']);
    expect(stageOf(job, 'deploy')).toMatchObject({ state: 'cancelled', reason: 'job cancelled before the stage started' });
    expect(job.endedAt).toBeNull();
    run(job, 'cleanup', 0);
    summarize(job, 7000);
    expect(states(job)).toEqual({ build: 'cancelled', deploy: 'cancelled', cleanup: 'succeeded' });
    expect(job).toMatchObject({ state: 'cancelled', exitCode: 130, endedAt: 7000 });
  });

  it('a running always stage is not stopped', () => {
    const job = newJob([st('work', { needs: [] }), st('cleanup', { needs: [], always: true })]);
    advance(job, 1500, anywhere);
    const stops = requestCancel(job);
    expect(stops.map((s) => s.token.stage)).toEqual(['work']);
    expect(currentAttempt(stageOf(job, 'cleanup'))!.stopRequested).toBeNull();
  });

  it('the stopped attempt counts as cancelled even if it reports exit 0 without a stop reason', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    requestCancel(job);
    run(job, 'a', 0);
    expect(stageOf(job, 'a').state).toBe('cancelled');
  });

  it('a job with nothing started is cancelled on the next pass without placing anything', () => {
    const job = newJob([st('a'), st('b')]);
    advance(job, 1500, placer({ a: { ok: false, reason: 'node n1 is down' } }).fn);
    expect(requestCancel(job)).toEqual([]);
    const p = placer();
    expect(advance(job, 2000, p.fn)).toEqual([]);
    expect(p.calls).toEqual([]);
    expect(states(job)).toEqual({ a: 'cancelled', b: 'cancelled' });
    expect(job).toMatchObject({ state: 'cancelled', exitCode: 130, endedAt: 2000 });
  });

  it('a finished job cannot be cancelled', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    run(job, 'a', 0);
    advance(job, 6000, anywhere);
    expect(requestCancel(job)).toEqual([]);
    expect(job.cancelRequested).toBe(false);
    expect(job.state).toBe('succeeded');
  });

  it('a node lost after the cancel ends the stage as lost instead of re-running it', () => {
    const job = newJob([st('a')]);
    advance(job, 1500, anywhere);
    requestCancel(job);
    run(job, 'a', 137, { vanished: true });
    expect(stageOf(job, 'a').state).toBe('lost');
    expect(advance(job, 6000, anywhere)).toEqual([]);
    expect(job).toMatchObject({ state: 'cancelled', exitCode: 130 });
  });
});

describe('authoritativeNode', () => {
  it('is empty before anything was placed', () => {
    expect(authoritativeNode(newJob([st('a')]))).toBe('');
  });

  it('follows the handoff: the running stage\'s node, then the last stage that ran', () => {
    const job = newJob([st('stage-repo'), st('site-lab')]);
    advance(job, 1000, placer({ 'stage-repo': { ok: true, node: 'workstation' } }).fn);
    expect(authoritativeNode(job)).toBe('workstation');
    run(job, 'stage-repo', 0);
    expect(authoritativeNode(job)).toBe('workstation');
    advance(job, 2000, placer({ 'site-lab': { ok: true, node: 'bastion' } }).fn);
    expect(authoritativeNode(job)).toBe('bastion');
    run(job, 'site-lab', 0);
    expect(authoritativeNode(job)).toBe('bastion');
  });

  it('a running stage wins over a later-assigned finished one', () => {
    const job = newJob([st('long', { needs: [] }), st('short', { needs: [] })]);
    advance(job, 1000, placer({ long: { ok: true, node: 'n-long' }, short: { ok: true, node: 'n-short' } }).fn);
    stageOf(job, 'short').attempts[0]!.assignedAt = 1500;
    run(job, 'short', 0);
    expect(authoritativeNode(job)).toBe('n-long');
  });

  it('after a reassignment, the new attempt\'s node', () => {
    const job = newJob([st('a')]);
    advance(job, 1000, placer({ a: { ok: true, node: 'r1' } }).fn);
    run(job, 'a', 0, { vanished: true });
    advance(job, 2000, placer({ a: { ok: true, node: 'r2' } }).fn);
    expect(authoritativeNode(job)).toBe('r2');
  });
});
