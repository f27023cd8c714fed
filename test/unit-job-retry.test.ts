// Unit tests for the pure parts of retry and resume: the `retry` field of a job file, a stage's
// tries (and that a failover reassign is not one), the delay kept in the record, and which stages
// a new run of a job re-runs (rerunPlan) and what it keeps.
import { describe, expect, it } from 'vitest';
import { currentAttempt, newJobRecord, rerunPlan, retryDue, step, type JobEvent } from '../coordinator/job-machine.js';
import { jobSpecSchema } from '../proto/job-spec.js';
import { jobRecordSchema, type JobRecord } from '../proto/records.js';
import { formatIssues } from '../proto/validation.js';

type Obj = Record<string, unknown>;

const specOf = (stages: Obj[]): Obj => ({ name: 'x', stages: stages.map((s) => ({ on: { labels: {} }, run: { command: ['true'] }, ...s })) });
const jobOf = (stages: Obj[]): JobRecord => newJobRecord('j', jobSpecSchema.parse(specOf(stages)), 0, null);
const on = (node: string): JobEvent => ({ kind: 'place', place: () => ({ ok: true, node }), runRootOf: () => '/runs' });
const exited = (job: JobRecord, stage: string, exitCode: number, at: number, over: Obj = {}): JobEvent => {
  const a = currentAttempt(job.stages.find((s) => s.name === stage)!)!;
  return { kind: 'exited', token: { job: job.id, stage, attempt: a.attempt }, report: { exitCode, signal: null, endedAt: at, logBytes: 0, stopReason: null, vanished: false, ...over } };
};
const issues = (stages: Obj[]): string[] => {
  const r = jobSpecSchema.safeParse(specOf(stages));
  return r.success ? [] : formatIssues(r.error);
};

describe('the retry field of a job file', () => {
  it('takes attempts, a delay and outcomes; refuses what is out of bounds, naming the field and limit', () => {
    expect(issues([{ name: 'a', retry: { attempts: 3, delay: '10s', on: ['failed', 'lost'] } }])).toEqual([]);
    expect(jobSpecSchema.parse(specOf([{ name: 'a', retry: { attempts: 2, delay: '1m' } }])).stages[0]!.retry).toEqual({ attempts: 2, delay: 60_000 });
    expect(issues([{ name: 'a', retry: { attempts: 21 } }]).join()).toMatch(/stages\[0\]\.retry\.attempts: at most 20 tries \(limit stageRetryAttemptsMax\)/);
    expect(issues([{ name: 'a', retry: { attempts: 0 } }]).join()).toMatch(/retry\.attempts: at least 1/);
    expect(issues([{ name: 'a', retry: { attempts: 1.5 } }]).join()).toMatch(/retry\.attempts: expected a whole number/);
    expect(issues([{ name: 'a', retry: { attempts: 2, delay: '2d' } }]).join()).toMatch(/retry\.delay: at most 24h \(limit stageRetryDelayMaxMs\)/);
    expect(issues([{ name: 'a', retry: { attempts: 2, delay: 'soon' } }]).join()).toMatch(/retry\.delay: expected a duration/);
    expect(issues([{ name: 'a', retry: { attempts: 2, on: ['cancelled'] } }]).join()).toMatch(/retry\.on\[0\]: expected one of failed, timeout, lost \(a cancelled attempt is never retried\)/);
    expect(issues([{ name: 'a', retry: { attempts: 2, on: ['failed', 'failed'] } }]).join()).toMatch(/retry\.on: names an outcome twice/);
    expect(issues([{ name: 'a', retry: { attempts: 2, when: 'always' } }]).join()).toMatch(/stages\[0\]\.retry: unknown field "when"/);
  });

  it('a stored record reads its delay back as milliseconds (not a thousandfold as seconds)', () => {
    const job = jobOf([{ name: 'a', retry: { attempts: 2, delay: '5s' } }]);
    const back = jobRecordSchema.parse(JSON.parse(JSON.stringify(job)));
    expect(back.spec.stages[0]!.retry).toEqual({ attempts: 2, delay: 5000 });
  });
});

describe('a stage\'s tries', () => {
  it('a failure with tries left queues the stage with its due time; the next try is placed only then, numbered', () => {
    const job = jobOf([{ name: 'a', retry: { attempts: 2, delay: '5s' } }]);
    step(job, on('n1'), 0);
    const r = step(job, exited(job, 'a', 1, 100), 100);
    expect(r.transitions.map((t) => `${t.level} ${t.from}->${t.to}`)).toEqual(['attempt starting->failed', 'stage running->queued']);
    expect(job.stages[0]).toMatchObject({ state: 'queued', retryAt: 5100 });
    expect(job.state).toBe('running');
    expect(retryDue(job, 5099)).toBe(false);
    expect(step(job, on('n1'), 5099).effects).toEqual([]);
    expect(retryDue(job, 5100)).toBe(true);
    const placed = step(job, on('n1'), 5100);
    expect(placed.effects.map((e) => e.type === 'start' && e.token.attempt)).toEqual([2]);
    expect(currentAttempt(job.stages[0]!)).toMatchObject({ attempt: 2, try: 2 });
    expect(job.stages[0]!.retryAt).toBeNull();
    step(job, exited(job, 'a', 1, 5200), 5200);
    expect(job.stages[0]!.state).toBe('failed');
    expect(job.stages[0]!.reason).toBe('exit code 1 (try 2 of 2, no tries left)');
    expect(job.state).toBe('failed');
  });

  it('a failover reassign is not a try: it keeps the try number and consumes none', () => {
    const job = jobOf([{ name: 'a', retry: { attempts: 2 } }]);
    step(job, on('n1'), 0);
    step(job, { kind: 'node-lost', node: 'n1', why: 'node n1 down' }, 10);
    expect(job.stages[0]!.state).toBe('queued');
    expect(job.stages[0]!.retryAt ?? null).toBeNull();
    step(job, on('n2'), 20);
    expect(job.stages[0]!.attempts.map((a) => [a.attempt, a.state, a.try ?? 1])).toEqual([
      [1, 'stale', 1],
      [2, 'starting', 1],
    ]);
    // the one retry the policy allows is still there
    step(job, exited(job, 'a', 1, 30), 30);
    expect(job.stages[0]!.state).toBe('queued');
    step(job, on('n2'), 30);
    expect(currentAttempt(job.stages[0]!)).toMatchObject({ attempt: 3, try: 2 });
  });

  it('lost (failover: fail) and a rejected run are retried under the default outcomes; a cancelled run never', () => {
    const job = jobOf([{ name: 'a', failover: 'fail', retry: { attempts: 3 } }, { name: 'b', needs: [], retry: { attempts: 3 } }]);
    step(job, on('n1'), 0);
    step(job, { kind: 'node-lost', node: 'n1', why: 'node n1 down', only: (t) => t.stage === 'a' }, 10);
    expect(job.stages[0]).toMatchObject({ state: 'queued', retryAt: 10 });
    step(job, { kind: 'rejected', token: { job: 'j', stage: 'b', attempt: 1 }, reason: 'workspace damaged' }, 10);
    expect(job.stages[1]).toMatchObject({ state: 'queued', retryAt: 10 });
    step(job, on('n2'), 10);
    step(job, { kind: 'cancel' }, 20);
    step(job, exited(job, 'a', 143, 30, { stopReason: 'cancelled' }), 30);
    step(job, exited(job, 'b', 1, 30), 30);
    // stopped by the cancel, whatever their exit: neither is tried again
    expect(job.stages.map((s) => [s.state, s.attempts.length])).toEqual([
      ['cancelled', 2],
      ['cancelled', 2],
    ]);
    expect(job.state).toBe('cancelled');
  });

  it('a cancel while a stage waits for its retry cancels it, an always stage too', () => {
    const job = jobOf([{ name: 'a', always: true, retry: { attempts: 3, delay: '1h' } }]);
    step(job, on('n1'), 0);
    step(job, exited(job, 'a', 1, 10), 10);
    expect(job.stages[0]!.state).toBe('queued');
    step(job, { kind: 'cancel' }, 20);
    step(job, on('n1'), 20);
    expect(job.stages[0]).toMatchObject({ state: 'cancelled', reason: 'job cancelled while the stage waited to retry', retryAt: null });
    expect(job.state).toBe('cancelled');
  });
});

describe('a new run of a job', () => {
  /** build -> test -> deploy, and cleanup (always) after all; test fails. */
  function failedPipeline(): JobRecord {
    const job = jobOf([{ name: 'build' }, { name: 'test' }, { name: 'deploy' }, { name: 'cleanup', always: true }]);
    step(job, on('n1'), 0);
    step(job, exited(job, 'build', 0, 1, { outputs: { V: '1' } }), 1);
    step(job, on('n1'), 1);
    step(job, exited(job, 'test', 2, 2), 2);
    step(job, on('n1'), 2);
    step(job, exited(job, 'cleanup', 0, 3), 3);
    expect(job.stages.map((s) => s.state)).toEqual(['succeeded', 'failed', 'skipped', 'succeeded']);
    expect(job.state).toBe('failed');
    return job;
  }

  it('re-runs what did not succeed and everything depending on it; --from adds a stage and its dependents', () => {
    const job = failedPipeline();
    expect(rerunPlan(job, null)).toEqual({ ok: true, rerun: ['test', 'deploy', 'cleanup'] });
    expect(rerunPlan(job, 'build')).toEqual({ ok: true, rerun: ['build', 'test', 'deploy', 'cleanup'] });
    expect(rerunPlan(job, 'nope')).toMatchObject({ ok: false, why: 'unknown-stage', message: 'job j has no stage "nope" (its stages: build, test, deploy, cleanup)' });
  });

  it('keeps the kept stages\' attempts and outputs, numbers new attempts on, and records the run that ended', () => {
    const job = failedPipeline();
    const r = step(job, { kind: 'retry', rerun: ['test', 'deploy', 'cleanup'], from: null, by: 'alice' }, 10);
    expect(r.illegal).toEqual([]);
    expect(job).toMatchObject({ state: 'running', endedAt: null, exitCode: null, run: 2 });
    expect(job.runs).toEqual([
      { run: 1, at: 0, by: '', from: null, rerun: ['build', 'test', 'deploy', 'cleanup'], state: 'failed', exitCode: 2, reason: 'stage test failed: exit code 2', endedAt: 3 },
      { run: 2, at: 10, by: 'alice', from: null, rerun: ['test', 'deploy', 'cleanup'], state: null, exitCode: null, reason: '', endedAt: null },
    ]);
    expect(job.stages.map((s) => [s.name, s.state])).toEqual([
      ['build', 'succeeded'],
      ['test', 'queued'],
      ['deploy', 'queued'],
      ['cleanup', 'queued'],
    ]);
    expect(job.stages[0]!.outputs).toEqual({ V: '1' });
    const placed = step(job, on('n1'), 11);
    // the kept stage's outputs reach the re-run one as in the first run
    expect(placed.effects.map((e) => e.type === 'start' && `${e.token.stage}/${e.token.attempt}`)).toEqual(['test/2']);
    expect(currentAttempt(job.stages[1]!)).toMatchObject({ attempt: 2, run: 2 });
    expect(job.stages[1]!.attempts[0]).not.toHaveProperty('run');
  });

  it('refuses a job that has not ended, and a succeeded one without --from', () => {
    const job = jobOf([{ name: 'a' }]);
    step(job, on('n1'), 0);
    expect(rerunPlan(job, null)).toMatchObject({ ok: false, why: 'running', message: 'job j is running: only an ended job can be retried (cancel it first: meshrun cancel j)' });
    expect(step(job, { kind: 'retry', rerun: ['a'], from: null, by: 'x' }, 1).changed).toBe(false);
    step(job, exited(job, 'a', 0, 1), 1);
    expect(rerunPlan(job, null)).toMatchObject({ ok: false, why: 'nothing' });
    expect(rerunPlan(job, 'a')).toEqual({ ok: true, rerun: ['a'] });
  });
});
