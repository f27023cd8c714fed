// The pure part of schedules: cron expressions read by croner (time zones, DST), the tick due
// at a given time, and what to do with it (fire, queue, skip, catch up, count it missed).
// No clock, no I/O: the service (schedules.ts) passes `now` in, tests pass fixed ones.
import { Cron } from 'croner';
import { InvalidInputError } from '../lib/errors.js';
import type { CatchUpPolicy, OverlapPolicy } from '../proto/schedule.js';

/** A tick is on time when reached at most this late (a leader's takeover, a stalled event loop)... */
export const ON_TIME_GRACE_MAX_MS = 15_000;
/** ...and at most half the way to the next tick, so a schedule every few seconds has missed ticks too. */
const ON_TIME_GRACE_SHARE = 0.5;
/** Missed ticks counted one by one at most (a long outage of an every-second schedule is not counted in full). */
export const MISSED_COUNT_MAX = 100;
/** `--catch-up once` without a window: a missed tick at most this old is caught up. */
export const DEFAULT_CATCH_UP_WINDOW_MS = 60 * 60 * 1000;

export interface CronClock {
  /** The first tick strictly after `t`, or null when there is none. */
  next(t: number): number | null;
  /** The latest tick at or before `t`, or null. */
  latest(t: number): number | null;
}

/**
 * Reads a cron expression (5 fields, or 6 with seconds first, or a nickname like `@daily`) in an
 * IANA time zone. A bad expression or zone is an InvalidInputError naming which one and why.
 */
export function compileCron(expr: string, timeZone: string): CronClock {
  checkTimeZone(timeZone);
  let cron: Cron;
  try {
    cron = new Cron(expr, { timezone: timeZone, mode: '5-or-6-parts' });
    cron.nextRun(new Date(0)); // a zone croner cannot convert to throws here, not at the first tick
  } catch (err) {
    const why = (err as Error).message.replace(/^CronPattern: /, '');
    throw new InvalidInputError(`cron "${expr}": ${why} (five fields "min hour day month weekday", or six with seconds first)`);
  }
  return {
    next: (t) => cron.nextRun(new Date(t))?.getTime() ?? null,
    // croner's reference is exclusive of its own second: 1 ms on includes a tick exactly at t
    latest: (t) => cron.previousRuns(1, new Date(t + 1))[0]?.getTime() ?? null,
  };
}

export function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new InvalidInputError(`time zone "${timeZone}" is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)`);
  }
}

/** The job id of a schedule's firing at `tick`: the same on every coordinator, so a second submit finds the first. */
export function firingJobId(name: string, tick: number): string {
  return `${name}-${compactUtc(tick)}`;
}

/** The job id of a run-now at `now` (a second run-now in the same second returns that job). */
export function runNowJobId(name: string, now: number): string {
  return `${name}-run-${compactUtc(now)}`;
}

/** 20261129T221500 (UTC): sortable, and of the job-id alphabet. */
function compactUtc(t: number): string {
  return new Date(t).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
}

/** How late a tick may be reached and still count as on time. */
export function onTimeGraceMs(clock: CronClock, tick: number): number {
  const next = clock.next(tick);
  const half = next === null ? ON_TIME_GRACE_MAX_MS : (next - tick) * ON_TIME_GRACE_SHARE;
  return Math.min(ON_TIME_GRACE_MAX_MS, half);
}

export interface DueTick {
  tick: number;
  /** Ticks after the last one decided and before this one, that will never fire (at most MISSED_COUNT_MAX). */
  skippedBefore: number;
}

/**
 * The tick due at `now`: the latest at or before it that is after `floor` (the last tick
 * decided, or creation/resume). Only the latest: after an outage the ticks in between are counted,
 * never fired one by one (no burst).
 */
export function dueTick(clock: CronClock, floor: number, now: number): DueTick | undefined {
  const tick = clock.latest(now);
  if (tick === null || tick <= floor) return undefined;
  let skippedBefore = 0;
  for (let t = clock.next(floor); t !== null && t < tick && skippedBefore < MISSED_COUNT_MAX; t = clock.next(t)) skippedBefore++;
  return { tick, skippedBefore };
}

export interface TickInput {
  tick: number;
  now: number;
  graceMs: number;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  catchUpWindowMs: number;
  /** A job of this schedule that has not ended, if any (the one named in a skip). */
  running: string | undefined;
  /** A tick already waits for it (overlap queue). */
  queued: boolean;
}

export type TickDecision =
  | { action: 'fire'; outcome: 'fired' | 'caught-up' }
  | { action: 'queue' }
  | { action: 'skip'; detail: string }
  | { action: 'missed'; detail: string };

/**
 * What the leader does with a due tick. Late beyond the grace, it was missed while no
 * coordinator acted: fired once if the catch-up policy and window allow, else only recorded.
 * Then the overlap policy: while a job of the schedule has not ended, `skip` records it skipped,
 * `queue` lets it wait for that job (one tick at most; a later one is skipped), `allow` fires.
 */
export function decideTick(i: TickInput): TickDecision {
  const lateMs = i.now - i.tick;
  let outcome: 'fired' | 'caught-up' = 'fired';
  if (lateMs > i.graceMs) {
    const window = i.catchUpWindowMs > 0 ? i.catchUpWindowMs : DEFAULT_CATCH_UP_WINDOW_MS;
    if (i.catchUp === 'none') return { action: 'missed', detail: `reached ${formatLate(lateMs)} late (catch-up none)` };
    if (lateMs > window) return { action: 'missed', detail: `reached ${formatLate(lateMs)} late, beyond the catch-up window of ${formatLate(window)}` };
    outcome = 'caught-up';
  }
  if (i.running === undefined || i.overlap === 'allow') return { action: 'fire', outcome };
  if (i.overlap === 'queue' && !i.queued) return { action: 'queue' };
  return { action: 'skip', detail: i.overlap === 'queue' ? `job ${i.running} has not ended and a tick already waits for it` : `job ${i.running} has not ended (overlap skip)` };
}

function formatLate(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 100) / 10}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 360_000) / 10}h`;
}
