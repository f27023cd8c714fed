// Retention's choices, without processes: which ended jobs go (age, count, a prune still
// owed to a node), and which run directories a node removes (busy ones never).
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunDirs } from '../agent/run-dirs.js';
import { newAttempt, newJobRecord, prunesDue } from '../coordinator/job-machine.js';
import { SortedList } from '../coordinator/job-order.js';
import { jobsToRemove, type RetentionPolicy } from '../coordinator/retention.js';
import { jobSpecSchema } from '../proto/job-spec.js';
import type { JobRecord } from '../proto/records.js';
import { createLogger } from '../lib/log.js';

const H = 3_600_000;
const policy: RetentionPolicy = { retainForMs: 24 * H, retainJobs: 3, retainEvents: 10 };

function ended(id: string, endedAt: number, prune?: string[]): JobRecord {
  const spec = jobSpecSchema.parse({ name: id, prune, stages: [{ name: 's', on: { node: 'n1' }, run: { command: ['true'] } }] });
  const j = newJobRecord(id, spec, endedAt - 1000, null);
  j.state = 'succeeded';
  j.endedAt = endedAt;
  j.stages[0]!.attempts.push({ ...newAttempt(1, 'n1', endedAt - 1000), state: 'succeeded' });
  return j;
}

/** jobsToRemove as retention calls it: the ended jobs in order of their end, a prune owed per the record. */
function toRemove(jobs: JobRecord[], now: number, p: RetentionPolicy, max?: number): JobRecord[] {
  const byEnd = SortedList.from(jobs, (j) => j.endedAt!);
  const byId = new Map(jobs.map((j) => [j.id, j]));
  return jobsToRemove(byEnd.ascending(), byEnd.size, now, p, (id) => prunesDue(byId.get(id)!).length > 0, max);
}

describe('jobsToRemove', () => {
  const now = 100 * H;

  it('keeps young jobs within the count', () => {
    expect(toRemove([ended('a', now - H), ended('b', now - 2 * H)], now, policy)).toEqual([]);
  });

  it('removes jobs past the age, oldest first', () => {
    const ids = toRemove([ended('young', now - H), ended('old2', now - 30 * H), ended('old1', now - 40 * H)], now, policy).map((j) => j.id);
    expect(ids).toEqual(['old1', 'old2']);
  });

  it('removes the oldest beyond the count, whatever their age', () => {
    const jobs = ['a', 'b', 'c', 'd', 'e'].map((id, i) => ended(id, now - (5 - i) * 60_000));
    expect(toRemove(jobs, now, policy).map((j) => j.id)).toEqual(['a', 'b']);
  });

  it('keeps a job whose prune has not reached a node, until twice the age', () => {
    const owed = ended('owed', now - 30 * H, ['*.key']);
    expect(toRemove([owed], now, policy)).toEqual([]);
    expect(toRemove([owed], now + 20 * H, policy).map((j) => j.id)).toEqual(['owed']);
    owed.pruned.push('n1');
    expect(toRemove([owed], now, policy).map((j) => j.id)).toEqual(['owed']);
  });

  it('removes at most the batch size per pass', () => {
    const jobs = Array.from({ length: 50 }, (_, i) => ended(`j${i}`, now - 30 * H - i));
    expect(toRemove(jobs, now, policy, 10)).toHaveLength(10);
  });
});

describe('RunDirs', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function jobDir(name: string, ageMs: number): string {
    const d = join(dir, name);
    mkdirSync(join(d, 'work'), { recursive: true });
    writeFileSync(join(d, 's.1.log'), 'x');
    const t = new Date(Date.now() - ageMs);
    for (const p of [join(d, 's.1.log'), join(d, 'work'), d]) utimesSync(p, t, t);
    return d;
  }

  it('removes untouched directories past the retention, keeps young and busy ones', () => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-rundirs-'));
    const busy = new Set(['busy']);
    const rd = new RunDirs({ runsDir: dir, retainForMs: H, log: createLogger({ daemon: 'test' }), busy: (j) => busy.has(j) });
    const old = jobDir('old', 2 * H);
    const young = jobDir('young', 60_000);
    const b = jobDir('busy', 2 * H);
    rd.sweep();
    expect([existsSync(old), existsSync(young), existsSync(b)]).toEqual([false, true, true]);
  });

  it('a forgotten job goes at once, or once its run is no longer busy', () => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-rundirs-'));
    const busy = new Set(['b']);
    const rd = new RunDirs({ runsDir: dir, retainForMs: 24 * H, log: createLogger({ daemon: 'test' }), busy: (j) => busy.has(j) });
    const a = jobDir('a', 0);
    const b = jobDir('b', 0);
    rd.forget('a');
    rd.forget('b');
    rd.forget('../escape');
    expect([existsSync(a), existsSync(b)]).toEqual([false, true]);
    busy.clear();
    rd.sweep();
    expect(existsSync(b)).toBe(false);
  });
});
