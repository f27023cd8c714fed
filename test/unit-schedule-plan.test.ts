// The pure firing logic of schedules with fixed clocks: which tick is due, how late is missed,
// catch-up and overlap decisions, job ids, and croner's reading of a named zone across DST.
import { describe, expect, it } from 'vitest';
import { isValidName } from '../proto/names.js';
import { compileCron, decideTick, dueTick, firingJobId, MISSED_COUNT_MAX, onTimeGraceMs, runNowJobId, type TickInput } from '../coordinator/schedule-plan.js';

const T = (iso: string): number => Date.parse(iso);
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

describe('cron clock', () => {
  it('next is strictly after, latest is at or before (six fields: seconds first)', () => {
    const c = compileCron('*/2 * * * * *', 'UTC');
    expect(iso(c.next(T('2026-01-01T00:00:04.000Z')))).toBe('2026-01-01T00:00:06.000Z');
    expect(iso(c.next(T('2026-01-01T00:00:04.500Z')))).toBe('2026-01-01T00:00:06.000Z');
    expect(iso(c.latest(T('2026-01-01T00:00:04.000Z')))).toBe('2026-01-01T00:00:04.000Z');
    expect(iso(c.latest(T('2026-01-01T00:00:05.999Z')))).toBe('2026-01-01T00:00:04.000Z');
  });

  it('five fields and nicknames read in the zone given', () => {
    expect(iso(compileCron('0 3 * * *', 'America/New_York').next(T('2026-06-01T00:00:00Z')))).toBe('2026-06-01T07:00:00.000Z');
    expect(iso(compileCron('@daily', 'Europe/Berlin').next(T('2026-06-01T12:00:00Z')))).toBe('2026-06-01T22:00:00.000Z');
  });

  it('Europe/Berlin spring forward: a 02:30 job runs once at 03:00 CEST; an interval job skips the hour that does not exist', () => {
    const fixed = compileCron('30 2 * * *', 'Europe/Berlin');
    // 28 March 02:30 CET = 01:30Z; 29 March 02:30 does not exist: first valid time after the gap, 03:00 CEST = 01:00Z
    expect([T('2026-03-28T00:00:00Z')].flatMap((t) => [fixed.next(t), fixed.next(fixed.next(t)!), fixed.next(fixed.next(fixed.next(t)!)!)]).map(iso)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    const hourly = compileCron('0 * * * *', 'Europe/Berlin');
    // 01:00 CET (00:00Z), then 03:00 CEST (01:00Z): one real hour, no 02:00
    expect(iso(hourly.next(T('2026-03-28T23:30:00Z')))).toBe('2026-03-29T00:00:00.000Z');
    expect(iso(hourly.next(T('2026-03-29T00:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
  });

  it('Europe/Berlin fall back: a 02:30 job runs once; a half-hourly job runs every real half hour, on both 02:30s', () => {
    const fixed = compileCron('30 2 * * *', 'Europe/Berlin');
    const first = fixed.next(T('2026-10-24T12:00:00Z'))!;
    expect(iso(first)).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
    expect(iso(fixed.next(first))).toBe('2026-10-26T01:30:00.000Z'); // not again at 02:30 CET the same night
    const half = compileCron('*/30 * * * *', 'Europe/Berlin');
    const ticks: string[] = [];
    for (let t = half.next(T('2026-10-25T00:00:00Z'))!; ticks.length < 5; t = half.next(t)!) ticks.push(iso(t)!);
    expect(ticks).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T02:30:00.000Z']);
    // the latest tick at a time inside the repeated hour is the real one before it
    expect(iso(half.latest(T('2026-10-25T01:45:00Z')))).toBe('2026-10-25T01:30:00.000Z');
  });

  it('a bad expression or zone is refused naming it and why', () => {
    expect(() => compileCron('61 * * * *', 'UTC')).toThrow(/cron "61 \* \* \* \*": Invalid value for minute: 61/);
    expect(() => compileCron('* * *', 'UTC')).toThrow(/cron "\* \* \*": .*five, six/);
    expect(() => compileCron('0 3 * * *', 'Mars/Olympus')).toThrow(/time zone "Mars\/Olympus" is not an IANA time zone name/);
  });
});

describe('job ids of firings', () => {
  it('are derived from the schedule and the tick (UTC), within the job-id alphabet and length', () => {
    expect(firingJobId('nightly', T('2026-11-29T03:00:00Z'))).toBe('nightly-20261129T030000');
    expect(runNowJobId('nightly', T('2026-11-29T12:34:56.789Z'))).toBe('nightly-run-20261129T123456');
    const longest = 'n'.repeat(40);
    for (const id of [firingJobId(longest, Date.now()), runNowJobId(longest, Date.now())]) expect(isValidName(id), id).toBe(true);
  });
});

describe('due tick', () => {
  const every2s = compileCron('*/2 * * * * *', 'UTC');

  it('nothing before the first tick after the floor, nor when the clock went back behind it', () => {
    expect(dueTick(every2s, T('2026-01-01T00:00:00Z'), T('2026-01-01T00:00:01.999Z'))).toBeUndefined();
    expect(dueTick(every2s, T('2026-01-01T00:00:10Z'), T('2026-01-01T00:00:03Z'))).toBeUndefined();
    expect(dueTick(every2s, T('2026-01-01T00:00:00Z'), T('2026-01-01T00:00:02Z'))).toEqual({ tick: T('2026-01-01T00:00:02Z'), skippedBefore: 0 });
  });

  it('after an outage only the latest tick is due; the ones in between are counted, never fired', () => {
    expect(dueTick(every2s, T('2026-01-01T00:00:00Z'), T('2026-01-01T00:00:21Z'))).toEqual({ tick: T('2026-01-01T00:00:20Z'), skippedBefore: 9 });
    // a week of every-2s ticks: the count stops at its bound
    expect(dueTick(every2s, T('2026-01-01T00:00:00Z'), T('2026-01-08T00:00:01Z'))).toEqual({ tick: T('2026-01-08T00:00:00Z'), skippedBefore: MISSED_COUNT_MAX });
  });

  it('the on-time grace is half the way to the next tick, at most 15 s', () => {
    expect(onTimeGraceMs(every2s, T('2026-01-01T00:00:02Z'))).toBe(1000);
    expect(onTimeGraceMs(compileCron('0 3 * * *', 'UTC'), T('2026-01-01T03:00:00Z'))).toBe(15_000);
  });
});

describe('decisions', () => {
  const tick = T('2026-01-01T03:00:00Z');
  const base: TickInput = { tick, now: tick + 200, graceMs: 15_000, overlap: 'skip', catchUp: 'none', catchUpWindowMs: 0, running: undefined, queued: false };
  const hour = 3_600_000;

  it('on time with nothing running: fired', () => {
    expect(decideTick(base)).toEqual({ action: 'fire', outcome: 'fired' });
  });

  it('late beyond the grace: missed with catch-up none; caught up once within the window; missed beyond it', () => {
    expect(decideTick({ ...base, now: tick + 20_000 })).toEqual({ action: 'missed', detail: 'reached 20s late (catch-up none)' });
    expect(decideTick({ ...base, now: tick + 20_000, catchUp: 'once', catchUpWindowMs: hour })).toEqual({ action: 'fire', outcome: 'caught-up' });
    expect(decideTick({ ...base, now: tick + 2 * hour, catchUp: 'once', catchUpWindowMs: hour })).toMatchObject({ action: 'missed', detail: expect.stringMatching(/beyond the catch-up window of 60m/) });
    // once without a window: one hour
    expect(decideTick({ ...base, now: tick + 59 * 60_000, catchUp: 'once' })).toEqual({ action: 'fire', outcome: 'caught-up' });
    expect(decideTick({ ...base, now: tick + 61 * 60_000, catchUp: 'once' }).action).toBe('missed');
  });

  it('overlap while the previous job runs: skip names it, queue lets one tick wait (a second is skipped), allow fires', () => {
    const running = { ...base, running: 'sweep-20260101T020000' };
    expect(decideTick({ ...running, overlap: 'skip' })).toEqual({ action: 'skip', detail: 'job sweep-20260101T020000 has not ended (overlap skip)' });
    expect(decideTick({ ...running, overlap: 'queue' })).toEqual({ action: 'queue' });
    expect(decideTick({ ...running, overlap: 'queue', queued: true })).toMatchObject({ action: 'skip', detail: expect.stringMatching(/a tick already waits/) });
    expect(decideTick({ ...running, overlap: 'allow' })).toEqual({ action: 'fire', outcome: 'fired' });
    // a caught-up tick obeys the overlap policy too
    expect(decideTick({ ...running, overlap: 'skip', catchUp: 'once', now: tick + 60_000 }).action).toBe('skip');
  });
});
