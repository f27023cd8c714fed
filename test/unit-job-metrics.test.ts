// JobMetrics, pure: each outcome is counted once however the writes coalesce, jobs loaded on
// taking the lead (or taken up again after they ended) count only what happens after, and a
// job stops being tracked once it ended.
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { JobMetrics, type JobMetricSinks } from '../coordinator/job-metrics.js';
import type { AttemptRecord, JobRecord } from '../proto/records.js';

function sinks(): { m: JobMetricSinks; value: (name: string, labels?: Record<string, string>) => Promise<number> } {
  const registers = [new Registry()];
  const m: JobMetricSinks = {
    jobsTotal: new Counter({ name: 'jobs', help: 'h', labelNames: ['state'], registers }),
    stagesTotal: new Counter({ name: 'stages', help: 'h', labelNames: ['state'], registers }),
    attemptsTotal: new Counter({ name: 'attempts', help: 'h', labelNames: ['outcome'], registers }),
    failovers: new Counter({ name: 'failovers', help: 'h', labelNames: ['outcome'], registers }),
    stageDuration: new Histogram({ name: 'duration', help: 'h', labelNames: ['outcome'], buckets: [1, 10], registers }),
    dispatchLatency: new Histogram({ name: 'dispatch', help: 'h', buckets: [0.01, 1], registers }),
    jobStartLatency: new Histogram({ name: 'start', help: 'h', buckets: [0.01, 1], registers }),
  };
  const value = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    // a histogram's series are its name with _count, _sum and _bucket
    const base = name.replace(/_(count|sum)$/, '');
    const metric = await registers[0]!.getSingleMetric(base)!.get();
    const want = Object.entries(labels);
    return metric.values
      .filter((v) => ((v as { metricName?: string }).metricName ?? base) === name && want.every(([k, x]) => v.labels[k] === x))
      .reduce((n, v) => n + v.value, 0);
  };
  return { m, value };
}

function attempt(n: number, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return { attempt: n, node: 'alpha', state: 'starting', exitCode: null, reason: '', assignedAt: 1000, startedAt: null, endedAt: null, logBytes: null, stopRequested: null, staleResult: null, artifacts: null, failures: [], ...over };
}

function job(id: string): JobRecord {
  return {
    id,
    name: 'j',
    spec: { name: 'j', stages: [{ name: 'a', on: { node: 'alpha' }, run: { command: ['true'] } }] } as unknown as JobRecord['spec'],
    state: 'queued',
    exitCode: null,
    reason: '',
    submittedAt: 900,
    startedAt: null,
    endedAt: null,
    cancelRequested: false,
    workspace: null,
    stages: [{ name: 'a', state: 'queued', reason: '', attempts: [], nodeDownSince: null, outputs: {} }],
    revision: 1,
    handoffs: [],
    pruned: [],
    schedule: null,
  };
}

describe('JobMetrics', () => {
  it('counts a job seen from its creation once, even when its start and end arrive in one write', async () => {
    const { m, value } = sinks();
    const jm = new JobMetrics(m);
    const j = job('j1');
    jm.observe(j);
    j.state = 'succeeded';
    j.endedAt = 3000;
    j.stages[0]!.state = 'succeeded';
    j.stages[0]!.attempts.push(attempt(1, { state: 'succeeded', startedAt: 1005, endedAt: 3000, exitCode: 0 }));
    jm.observe(j);
    jm.observe(j); // a later write of the ended job (a prune) counts nothing
    expect(await value('jobs', { state: 'succeeded' })).toBe(1);
    expect(await value('stages', { state: 'succeeded' })).toBe(1);
    expect(await value('attempts', { outcome: 'succeeded' })).toBe(1);
    expect(await value('dispatch_count')).toBe(1);
    expect(await value('dispatch_sum')).toBeCloseTo(0.005);
    expect(await value('start_sum')).toBeCloseTo(0.105);
    expect(await value('duration_sum', { outcome: 'succeeded' })).toBeCloseTo(1.995);
    expect(jm.tracked).toBe(0);
  });

  it('a failover counts the superseded attempt as reassigned, not as a stage outcome', async () => {
    const { m, value } = sinks();
    const jm = new JobMetrics(m);
    const j = job('j2');
    jm.observe(j);
    j.state = 'running';
    j.stages[0]!.state = 'running';
    j.stages[0]!.attempts.push(attempt(1, { state: 'running', startedAt: 1010 }));
    jm.observe(j);
    j.stages[0]!.attempts[0]!.state = 'stale';
    j.stages[0]!.state = 'queued';
    j.stages[0]!.attempts.push(attempt(2, { node: 'beta', assignedAt: 5000 }));
    jm.observe(j);
    expect(await value('failovers', { outcome: 'reassigned' })).toBe(1);
    expect(await value('attempts', { outcome: 'stale' })).toBe(1);
    expect(await value('stages')).toBe(0);
    expect(await value('dispatch_count')).toBe(1);
    expect(await value('start_count'), 'the job started once').toBe(1);
    expect(jm.tracked).toBe(1);
  });

  it('jobs loaded on taking the lead, and one seen first with attempts, count only what follows', async () => {
    const { m, value } = sinks();
    const jm = new JobMetrics(m);
    const loaded = job('j3');
    loaded.state = 'running';
    loaded.stages[0]!.state = 'running';
    loaded.stages[0]!.attempts.push(attempt(1, { state: 'running', startedAt: 1010 }));
    jm.prime([loaded]);
    const resumed = job('j4');
    resumed.state = 'running';
    resumed.stages[0]!.attempts.push(attempt(1, { state: 'failed', startedAt: 1010, endedAt: 2000, exitCode: 1 }));
    resumed.stages[0]!.attempts.push(attempt(2, { state: 'running', startedAt: 3010, assignedAt: 3000 }));
    jm.observe(resumed);
    expect(await value('dispatch_count')).toBe(0);
    expect(await value('attempts')).toBe(0);
    loaded.stages[0]!.attempts[0]!.state = 'failed';
    loaded.stages[0]!.attempts[0]!.endedAt = 4000;
    loaded.stages[0]!.state = 'failed';
    loaded.state = 'failed';
    loaded.endedAt = 4000;
    jm.observe(loaded);
    expect(await value('attempts', { outcome: 'failed' })).toBe(1);
    expect(await value('jobs', { state: 'failed' })).toBe(1);
    expect(await value('stages', { state: 'failed' })).toBe(1);
    // an ended job never seen before is nobody's to count
    const old = job('j5');
    old.state = 'succeeded';
    old.endedAt = 1;
    jm.observe(old);
    expect(await value('jobs', { state: 'succeeded' })).toBe(0);
    expect(jm.tracked).toBe(1);
  });
});
