// The schedule service with a fixed clock, a bucket that compare-and-sets like JetStream KV and
// a job store that creates an id once: what two leaders in turn decide. A leader that stops
// between its submit and its record leaves the job, and the next one records it instead of
// firing again; a deposed leader decides nothing; an outage is one decision, never a burst; a
// clock stepped back fires nothing twice; the queue holds one tick and fires it when the job ends.
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/log.js';
import type { KvRead } from '../lib/kv-read.js';
import type { JobOrigin, JobRecord } from '../proto/records.js';
import type { ScheduleRecord } from '../proto/schedule.js';
import { Schedules } from '../coordinator/schedules.js';

const T = (iso: string): number => Date.parse(iso);
const wrongRevision = (): JetStreamApiError => new JetStreamApiError({ code: 400, err_code: JetStreamApiCodes.StreamWrongLastSequence, description: 'wrong last sequence' });

/** What the schedule service uses of a KV bucket, with JetStream's compare-and-set. */
class FakeKv {
  seq = 0;
  readonly entries = new Map<string, { value: string; revision: number }>();
  async create(k: string, v: string): Promise<number> {
    if (this.entries.has(k)) throw wrongRevision();
    this.entries.set(k, { value: v, revision: ++this.seq });
    return this.seq;
  }
  async update(k: string, v: string, rev: number): Promise<number> {
    if (this.entries.get(k)?.revision !== rev) throw wrongRevision();
    this.entries.set(k, { value: v, revision: ++this.seq });
    return this.seq;
  }
  async get(k: string): Promise<{ operation: 'PUT'; revision: number; string(): string } | null> {
    const e = this.entries.get(k);
    return e ? { operation: 'PUT', revision: e.revision, string: () => e.value } : null;
  }
  async purge(k: string): Promise<void> {
    this.entries.delete(k);
  }
  record(k: string): ScheduleRecord {
    return JSON.parse(this.entries.get(k)!.value) as ScheduleRecord;
  }
}

/** Jobs by id, created once (as Coordinator.submit with an id): the fleet both leaders share. */
class FakeJobs {
  readonly jobs = new Map<string, { id: string; schedule: JobOrigin | null; ended: boolean }>();
  creates = 0;
  submit(id: string, origin: JobOrigin): { job: JobRecord; created: boolean } {
    this.creates++;
    const created = !this.jobs.has(id);
    if (created) this.jobs.set(id, { id, schedule: origin, ended: false });
    return { job: { id, state: 'running', schedule: this.jobs.get(id)!.schedule } as JobRecord, created };
  }
  endAll(): void {
    for (const j of this.jobs.values()) j.ended = true;
  }
}

const log = silentLogger;
const spec = JSON.stringify({ name: 'sweep', stages: [{ name: 'run', on: { node: 'alpha' }, run: { command: ['true'] } }] });

function coordinator(kv: FakeKv, jobs: FakeJobs, clock: { now: number }, leads: () => boolean): Schedules {
  return new Schedules({
    kv: () => kv as unknown as KV,
    readAll: async (each: (e: KvRead) => void) => {
      for (const [key, e] of kv.entries) each({ key, revision: e.revision, data: new TextEncoder().encode(e.value) });
      return kv.entries.size;
    },
    log,
    mayAct: leads,
    submit: async (id, _spec, _ws, origin) => jobs.submit(id, origin),
    jobOrigin: async (id) => jobs.jobs.get(id)?.schedule,
    runningJobOf: (name) => [...jobs.jobs.values()].find((j) => j.schedule?.name === name && !j.ended)?.id,
    jobs: async () => [],
    checkSpec: () => ({ name: 'sweep', secrets: false }),
    hasWorkspace: async () => true,
    now: () => clock.now,
  });
}

const req = (name: string, cron: string, more: Partial<{ overlap: 'skip' | 'queue' | 'allow'; catchUp: 'none' | 'once'; catchUpWindowMs: number }> = {}) => ({
  name,
  cron,
  timeZone: '',
  specJson: spec,
  workspace: '',
  overlap: more.overlap ?? ('' as const),
  catchUp: more.catchUp ?? ('' as const),
  catchUpWindowMs: more.catchUpWindowMs ?? 0,
});

describe('the schedule service, two leaders in turn', () => {
  it('one job per tick across a leader change, a deposed leader decides nothing, an outage is one decision', async () => {
    const kv = new FakeKv();
    const jobs = new FakeJobs();
    const clock = { now: T('2026-01-01T00:00:30Z') };
    let leader = 'a';
    const a = coordinator(kv, jobs, clock, () => leader === 'a');
    await a.create(req('sweep', '* * * * *'), 'ana');
    await a.create(req('catchy', '* * * * *', { catchUp: 'once', catchUpWindowMs: 600_000 }), 'ana');

    clock.now = T('2026-01-01T00:01:00.200Z');
    await a.lookNow();
    expect([...jobs.jobs.keys()].sort()).toEqual(['catchy-20260101T000100', 'sweep-20260101T000100']);
    jobs.endAll();

    // a submits the 00:02 tick of sweep, and stops before its record lands (the write is lost)
    clock.now = T('2026-01-01T00:02:00.100Z');
    const realUpdate = kv.update.bind(kv);
    kv.update = async (k, v, rev) => {
      if (k === 'sweep') throw new Error('timeout');
      return realUpdate(k, v, rev);
    };
    await a.lookNow();
    kv.update = realUpdate;
    expect(jobs.jobs.has('sweep-20260101T000200')).toBe(true);
    expect(kv.record('sweep').lastTick).toBe(T('2026-01-01T00:01:00Z'));

    // b takes over: it finds the job of that tick and records it, it does not fire it again
    leader = 'b';
    const b = coordinator(kv, jobs, clock, () => leader === 'b');
    expect(await b.load()).toBe(2);
    clock.now = T('2026-01-01T00:02:00.900Z');
    const creates = jobs.creates;
    await b.lookNow();
    expect(jobs.creates - creates, 'b submitted nothing: a fired both 00:02 ticks').toBe(0);
    expect(kv.record('sweep').history[0]).toMatchObject({ tick: T('2026-01-01T00:02:00Z'), outcome: 'fired', job: 'sweep-20260101T000200', detail: 'found fired by an earlier leader' });
    jobs.endAll();

    // the deposed a, its memory stale, looks at the next tick: it may not act, nothing happens
    clock.now = T('2026-01-01T00:03:00.100Z');
    await a.lookNow();
    expect(jobs.jobs.has('sweep-20260101T000300')).toBe(false);
    await b.lookNow();
    expect(jobs.jobs.has('sweep-20260101T000300')).toBe(true);
    jobs.endAll();

    // no coordinator for four minutes: one decision each, the ticks in between counted, none fired
    clock.now = T('2026-01-01T00:07:30Z');
    const before = jobs.jobs.size;
    await b.lookNow();
    expect(kv.record('sweep').history[0]).toMatchObject({ tick: T('2026-01-01T00:07:00Z'), outcome: 'missed', job: null, detail: 'reached 30s late (catch-up none); 3 earlier tick(s) since the last decided were missed' });
    expect(kv.record('catchy').history[0]).toMatchObject({ tick: T('2026-01-01T00:07:00Z'), outcome: 'caught-up', job: 'catchy-20260101T000700', detail: '3 earlier tick(s) since the last decided were missed' });
    expect(jobs.jobs.size - before, 'catchy caught up once, no burst').toBe(1);

    // the clock is stepped back two minutes: nothing is decided again, nothing fired twice
    clock.now = T('2026-01-01T00:05:30Z');
    const decided = kv.record('sweep').history.length;
    await b.lookNow();
    expect(kv.record('sweep').history.length).toBe(decided);
    expect(jobs.jobs.size - before).toBe(1);
  });

  it('overlap queue: one tick waits for the running job and fires with its own id when that job ends; a second is skipped', async () => {
    const kv = new FakeKv();
    const jobs = new FakeJobs();
    const clock = { now: T('2026-01-01T00:00:30Z') };
    const s = coordinator(kv, jobs, clock, () => true);
    await s.create(req('q', '* * * * *', { overlap: 'queue' }), 'ana');
    clock.now = T('2026-01-01T00:01:00.100Z');
    await s.lookNow();
    clock.now = T('2026-01-01T00:02:00.100Z');
    await s.lookNow();
    expect(kv.record('q')).toMatchObject({ queuedTick: T('2026-01-01T00:02:00Z') });
    expect(kv.record('q').history.map((f) => [f.outcome, f.detail])).toEqual([['queued', 'waits for job q-20260101T000100 to end'], ['fired', '']]);
    clock.now = T('2026-01-01T00:03:00.100Z');
    await s.lookNow();
    expect(kv.record('q').history[0]).toMatchObject({ outcome: 'skipped', detail: 'job q-20260101T000100 has not ended and a tick already waits for it' });
    jobs.endAll();
    clock.now = T('2026-01-01T00:03:20Z');
    await s.lookNow();
    expect(kv.record('q').queuedTick).toBeNull();
    expect(kv.record('q').history[0]).toMatchObject({ outcome: 'fired-queued', tick: T('2026-01-01T00:02:00Z'), job: 'q-20260101T000200' });
    expect([...jobs.jobs.keys()].sort()).toEqual(['q-20260101T000100', 'q-20260101T000200']);
  });

  it('a job a client submitted with a tick\'s id is not taken for that firing', async () => {
    const kv = new FakeKv();
    const jobs = new FakeJobs();
    const clock = { now: T('2026-01-01T00:00:30Z') };
    const s = coordinator(kv, jobs, clock, () => true);
    await s.create(req('x', '* * * * *'), 'ana');
    jobs.jobs.set('x-20260101T000100', { id: 'x-20260101T000100', schedule: null, ended: true });
    clock.now = T('2026-01-01T00:01:00.100Z');
    await s.lookNow();
    expect(kv.record('x').history[0]).toMatchObject({ outcome: 'failed', job: null, detail: 'job id x-20260101T000100 is taken by a job this schedule did not fire' });
    clock.now = T('2026-01-01T00:02:00.100Z');
    await s.lookNow();
    expect(kv.record('x').history[0]).toMatchObject({ outcome: 'fired', job: 'x-20260101T000200' });
  });
});
