// Schedules on the leading coordinator: records in KV mr_schedules, a timer that fires each due
// tick as an ordinary job, and the client calls that change them. Exactly once per tick, also
// across a change of leader: a firing's job id is derived from the schedule and the tick, and a
// job exists once its KV create landed (Coordinator.submit is create-or-return-existing), so no
// two coordinators can make two jobs of one tick; each decision (fired, queued, skipped, missed)
// is recorded with a compare-and-set that moves `lastTick` forward, so no tick is decided twice.
import type { KV } from '@nats-io/kv';
import { decode } from '../proto/decode.js';
import type { JobOrigin, JobRecord } from '../proto/records.js';
import { scheduleRecordSchema, type CreateScheduleRequest, type Firing, type FiringOutcome, type ScheduleRecord } from '../proto/schedule.js';
import { ErrorCode, InvalidInputError, isMeshrunError, MeshrunError } from '../lib/errors.js';
import type { KvRead } from '../lib/kv-read.js';
import { SerialQueue } from '../lib/lifecycle.js';
import { Limits } from '../lib/limits.js';
import type { Logger } from '../lib/log.js';
import { isWrongRevision, leadNotConfirmed } from './leadership.js';
import { compileCron, decideTick, DEFAULT_CATCH_UP_WINDOW_MS, dueTick, firingJobId, MISSED_COUNT_MAX, onTimeGraceMs, runNowJobId, type CronClock } from './schedule-plan.js';

export interface ScheduleHost {
  kv: () => KV;
  /** Every record in the bucket, in one read (lib/kv-read.ts). */
  readAll: (each: (e: KvRead) => void) => Promise<number>;
  log: Logger;
  /** This coordinator leads, is sure of it, and runs: only then does a tick fire. */
  mayAct: () => boolean;
  /** A job submitted as a client would (validated, create-or-return-existing by id). */
  submit: (id: string, specJson: string, workspace: string | null, origin: JobOrigin) => Promise<{ job: JobRecord; created: boolean }>;
  /** Whether a job of this id is stored, and the schedule that fired it: undefined (none), null (submitted by a client). */
  jobOrigin: (id: string) => Promise<JobOrigin | null | undefined>;
  /** A job of this schedule that has not ended, if any. */
  runningJobOf: (name: string) => string | undefined;
  /** The records of these jobs that still exist (for listings). */
  jobs: (ids: string[]) => Promise<JobRecord[]>;
  /** Checks a job spec as Submit does; resolves to the job's name. */
  checkSpec: (specJson: string) => { name: string; secrets: boolean };
  hasWorkspace: (sha256: string) => Promise<boolean>;
  now?: () => number;
}

interface Held {
  rec: ScheduleRecord;
  rev: number;
  clock: CronClock;
  /** The first tick after the last one decided (null: none ever): nothing to decide before it. */
  nextDue: number | null;
}

function heldOf(rec: ScheduleRecord, rev: number, clock: CronClock): Held {
  return { rec, rev, clock, nextDue: clock.next(floorOf(rec)) };
}

/** A submit refused for what it is (spec, workspace gone, too large): recorded `failed`, not tried again. */
const REFUSALS: ReadonlySet<string> = new Set([ErrorCode.InvalidInput, ErrorCode.TooLarge, ErrorCode.Conflict, ErrorCode.NotFound]);

/** The timer looks at least this often: a clock stepped by NTP, a resume or a queued tick is noticed within it. */
const MAX_SLEEP_MS = 1000;

export interface ScheduleView {
  rec: ScheduleRecord;
  nextRun: number | null;
  /** State and exit code of the jobs its history names (absent: removed by retention). */
  jobs: Map<string, JobRecord>;
}

export class Schedules {
  private readonly held = new Map<string, Held>();
  /** Every change of a record (client calls and firings) goes one at a time. */
  private readonly queue: SerialQueue;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly now: () => number;

  constructor(private readonly h: ScheduleHost) {
    this.queue = new SerialQueue(h.log, 'schedule step failed');
    this.now = h.now ?? Date.now;
  }

  /** Reads every schedule (before this coordinator serves); a damaged record is logged and left alone. */
  async load(): Promise<number> {
    this.held.clear();
    await this.h.readAll((e) => {
      const r = decode(scheduleRecordSchema, e.data);
      if (!r.ok) return this.h.log.warn('damaged schedule record skipped', { key: e.key, errors: r.errors });
      try {
        this.held.set(r.value.name, heldOf(r.value, e.revision, compileCron(r.value.cron, r.value.timeZone)));
      } catch (err) {
        this.h.log.warn('schedule with an expression this coordinator cannot read skipped', { schedule: r.value.name, err: (err as Error).message });
      }
    });
    return this.held.size;
  }

  /** Starts the timer (the leader, once it serves). */
  start(): void {
    this.running = true;
    this.arm(0);
  }

  stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    return this.queue.idle();
  }

  /** Looks at the schedules now (a job of one ended: a queued tick may fire). */
  wake(): void {
    if (this.running) this.arm(0);
  }

  /** Workspaces schedules name: kept in the object store while they do. */
  workspaces(): string[] {
    const out: string[] = [];
    for (const { rec } of this.held.values()) if (rec.workspace) out.push(rec.workspace);
    return out;
  }

  usesWorkspace(sha256: string): boolean {
    for (const { rec } of this.held.values()) if (rec.workspace === sha256) return true;
    return false;
  }

  // ---- the timer ----

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.queue.run(() => this.tick()), ms);
  }

  /** One look at every schedule now, outside the timer (tests drive a fixed clock with it). */
  lookNow(): Promise<void> {
    return this.queue.run(() => this.decideDue());
  }

  /** Decides every due tick (or queued one whose blocker ended) while this coordinator may act. */
  private async decideDue(): Promise<void> {
    if (!this.h.mayAct()) return;
    for (const name of [...this.held.keys()]) {
      const s = this.held.get(name);
      if (!s || s.rec.paused) continue;
      // cheap for a schedule with nothing due: no cron arithmetic until its next tick
      if (s.rec.queuedTick === null && (s.nextDue === null || this.now() < s.nextDue)) continue;
      await this.decide(name).catch((err) => this.h.log.error('schedule tick not decided', { schedule: name, err }));
    }
  }

  /**
   * Decides every due tick, then sleeps until the next one (at most MAX_SLEEP_MS: the next tick
   * is computed from the clock each time, so a clock that jumps is followed, never a fixed interval).
   */
  private async tick(): Promise<void> {
    if (!this.running) return;
    let nextAt = Infinity;
    try {
      await this.decideDue();
      for (const s of this.held.values()) if (!s.rec.paused && s.nextDue !== null) nextAt = Math.min(nextAt, s.nextDue);
    } finally {
      // still due after this look (not leading just now, the bus did not answer): look again in a while
      const wait = nextAt - this.now();
      if (this.running) this.arm(wait <= 0 ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, wait));
    }
  }

  /** One schedule: a queued tick whose blocker ended fires; then the due tick, if any, is decided. */
  private async decide(name: string): Promise<void> {
    let s = this.held.get(name)!;
    if (s.rec.queuedTick !== null && this.h.runningJobOf(name) === undefined) {
      const tick = s.rec.queuedTick;
      await this.fire(s, tick, 'fired-queued', '', (r) => (r.queuedTick = null));
      s = this.held.get(name)!;
    }
    const now = this.now();
    const due = dueTick(s.clock, floorOf(s.rec), now);
    if (!due) return;
    const missedNote = due.skippedBefore > 0 ? `${due.skippedBefore >= MISSED_COUNT_MAX ? `${MISSED_COUNT_MAX} or more` : due.skippedBefore} earlier tick(s) since the last decided were missed` : '';
    const id = firingJobId(name, due.tick);
    const advance = (r: ScheduleRecord): void => void (r.lastTick = due.tick);
    const detail = (more: string): string => [more, missedNote].filter(Boolean).join('; ');
    // a leader that stopped between its submit and its record: the job is the proof it fired
    const origin = await this.h.jobOrigin(id);
    if (origin !== undefined) {
      if (sameFiring(origin, name, due.tick)) return this.record(s, { tick: due.tick, at: now, outcome: 'fired', job: id, detail: detail('found fired by an earlier leader') }, advance);
      return this.record(s, { tick: due.tick, at: now, outcome: 'failed', job: null, detail: detail(`job id ${id} is taken by a job this schedule did not fire`) }, advance);
    }
    const d = decideTick({
      tick: due.tick,
      now,
      graceMs: onTimeGraceMs(s.clock, due.tick),
      overlap: s.rec.overlap,
      catchUp: s.rec.catchUp,
      catchUpWindowMs: s.rec.catchUpWindowMs,
      running: this.h.runningJobOf(name),
      queued: s.rec.queuedTick !== null,
    });
    if (d.action === 'fire') return this.fire(s, due.tick, d.outcome, missedNote, advance);
    if (d.action === 'queue') return this.record(s, { tick: due.tick, at: now, outcome: 'queued', job: null, detail: detail(`waits for job ${this.h.runningJobOf(name)} to end`) }, (r) => (advance(r), (r.queuedTick = due.tick)));
    if (d.action === 'missed') this.h.log.warn('schedule tick missed', { schedule: name, tick: new Date(due.tick).toISOString(), detail: d.detail });
    return this.record(s, { tick: due.tick, at: now, outcome: d.action === 'skip' ? 'skipped' : 'missed', job: null, detail: detail(d.detail) }, advance);
  }

  /** Submits the tick's job (idempotent by its id), then records it. A refused submit is recorded `failed`. */
  private async fire(s: Held, tick: number, outcome: FiringOutcome, note: string, change: (r: ScheduleRecord) => void): Promise<void> {
    const id = firingJobId(s.rec.name, tick);
    try {
      const { job, created } = await this.h.submit(id, s.rec.specJson, s.rec.workspace, { name: s.rec.name, tick });
      // an id someone chose for a job of their own (submit --id) is not this firing
      if (!created && !sameFiring(job.schedule, s.rec.name, tick)) throw new MeshrunError(ErrorCode.Conflict, `job id ${id} is taken by a job this schedule did not fire`);
      this.h.log.info('schedule fired', { schedule: s.rec.name, tick: new Date(tick).toISOString(), job: id, outcome, created });
      await this.record(s, { tick, at: this.now(), outcome, job: id, detail: note }, change);
    } catch (err) {
      // not sure it leads any more, or the bus does not answer: decided at the next look (or by the next leader)
      if (!this.h.mayAct() || !isMeshrunError(err) || !REFUSALS.has(err.code)) throw err;
      this.h.log.error('schedule firing refused', { schedule: s.rec.name, job: id, err });
      await this.record(s, { tick, at: this.now(), outcome: 'failed', job: null, detail: (err as Error).message.slice(0, 1000) }, change);
    }
  }

  /** Appends a decision and applies `change`, with a compare-and-set on the record's revision. */
  private async record(s: Held, f: Firing, change: (r: ScheduleRecord) => void): Promise<void> {
    await this.write(s.rec.name, (r) => {
      change(r);
      r.history = [f, ...r.history].slice(0, Limits.scheduleHistoryMax);
    });
  }

  /**
   * Changes a held record and writes it with a compare-and-set; refused (another coordinator
   * wrote since, or our own write landed without its answer): read again and apply once more.
   */
  private async write(name: string, change: (r: ScheduleRecord) => void): Promise<ScheduleRecord> {
    for (let tries = 0; ; tries++) {
      const s = this.held.get(name);
      if (!s) throw new MeshrunError(ErrorCode.NotFound, `no schedule ${name}`);
      if (!this.h.mayAct()) throw leadNotConfirmed();
      const next = structuredClone(s.rec);
      change(next);
      try {
        const rev = await this.h.kv().update(name, JSON.stringify(next), s.rev);
        this.held.set(name, heldOf(next, rev, s.clock));
        return next;
      } catch (err) {
        if (!isWrongRevision(err) || tries >= 2) throw err;
        await this.reread(name);
      }
    }
  }

  private async reread(name: string): Promise<void> {
    const e = await this.h.kv().get(name);
    const s = this.held.get(name);
    if (!e || e.operation !== 'PUT') {
      this.held.delete(name);
      return;
    }
    const r = decode(scheduleRecordSchema, e.string());
    if (r.ok && s) this.held.set(name, heldOf(r.value, e.revision, s.clock));
  }

  // ---- client calls ----

  create(req: CreateScheduleRequest, by: string): Promise<ScheduleView> {
    const timeZone = req.timeZone || 'UTC';
    const clock = compileCron(req.cron, timeZone);
    const spec = this.h.checkSpec(req.specJson);
    if (spec.secrets) throw new InvalidInputError('the job file declares secrets: a schedule cannot carry their values yet (they are read by meshrun submit at submit time and never stored in clear); use a job without secrets');
    const now = this.now();
    if (clock.next(now) === null) throw new InvalidInputError(`cron "${req.cron}": never fires after now`);
    return this.queue.run(async () => {
      if (this.held.has(req.name)) throw new MeshrunError(ErrorCode.Conflict, `schedule ${req.name} exists already (meshrun schedule delete ${req.name} first)`);
      if (this.held.size >= Limits.schedulesMax) throw new MeshrunError(ErrorCode.TooLarge, `there are ${this.held.size} schedules already, the most a coordinator holds (limit schedulesMax)`);
      if (req.workspace && !(await this.h.hasWorkspace(req.workspace))) throw new InvalidInputError(`workspace ${req.workspace.slice(0, 12)} is not stored: upload it first (meshrun schedule create --workspace DIR does)`);
      if (!this.h.mayAct()) throw leadNotConfirmed();
      const rec: ScheduleRecord = {
        name: req.name,
        cron: req.cron,
        timeZone,
        specJson: req.specJson,
        jobName: spec.name,
        workspace: req.workspace || null,
        overlap: req.overlap || 'skip',
        catchUp: req.catchUp || 'none',
        // the window in force, written down (0 on the wire: the default)
        catchUpWindowMs: req.catchUp === 'once' ? req.catchUpWindowMs || DEFAULT_CATCH_UP_WINDOW_MS : 0,
        paused: false,
        createdAt: now,
        createdBy: by,
        since: now,
        lastTick: null,
        queuedTick: null,
        history: [],
      };
      let rev: number;
      try {
        rev = await this.h.kv().create(req.name, JSON.stringify(rec));
      } catch (err) {
        if (isWrongRevision(err)) throw new MeshrunError(ErrorCode.Conflict, `schedule ${req.name} exists already (meshrun schedule delete ${req.name} first)`);
        throw err;
      }
      this.held.set(req.name, heldOf(rec, rev, clock));
      this.h.log.info('schedule created', { schedule: req.name, cron: req.cron, timeZone, overlap: rec.overlap, catchUp: rec.catchUp, by });
      this.wake();
      return this.view(req.name);
    });
  }

  /** Pause or resume; a resume counts ticks from now (those while paused are neither missed nor caught up). */
  setPaused(name: string, paused: boolean, by: string): Promise<ScheduleView> {
    return this.queue.run(async () => {
      await this.write(name, (r) => {
        if (r.paused === paused) return;
        r.paused = paused;
        if (!paused) r.since = this.now();
      });
      this.h.log.info(paused ? 'schedule paused' : 'schedule resumed', { schedule: name, by });
      this.wake();
      return this.view(name);
    });
  }

  remove(name: string, by: string): Promise<ScheduleView> {
    return this.queue.run(async () => {
      const s = this.held.get(name);
      if (!s) throw new MeshrunError(ErrorCode.NotFound, `no schedule ${name}`);
      const view = await this.view(name);
      if (!this.h.mayAct()) throw leadNotConfirmed();
      await this.h.kv().purge(name, { previousSeq: s.rev });
      this.held.delete(name);
      this.h.log.info('schedule deleted', { schedule: name, by });
      return view;
    });
  }

  /** Fires the job now, whatever the overlap policy; its id is from the time, not a tick. */
  runNow(name: string, by: string): Promise<{ view: ScheduleView; job: JobRecord; created: boolean }> {
    return this.queue.run(async () => {
      const s = this.held.get(name);
      if (!s) throw new MeshrunError(ErrorCode.NotFound, `no schedule ${name}`);
      const now = this.now();
      const id = runNowJobId(name, now);
      const { job, created } = await this.h.submit(id, s.rec.specJson, s.rec.workspace, { name, tick: null });
      if (created) await this.record(s, { tick: null, at: now, outcome: 'run-now', job: id, detail: `by ${by}` }, () => undefined);
      return { view: await this.view(name), job, created };
    });
  }

  get(name: string): Promise<ScheduleView> {
    return this.view(name);
  }

  /** Every schedule by name, with the state of each one's last run. */
  async list(): Promise<ScheduleView[]> {
    const names = [...this.held.keys()].sort();
    const lastJobs = names.map((n) => lastRun(this.held.get(n)!.rec)?.job).filter((j): j is string => !!j);
    const jobs = new Map((await this.h.jobs(lastJobs)).map((j) => [j.id, j]));
    return names.filter((n) => this.held.has(n)).map((n) => this.viewOf(this.held.get(n)!, jobs));
  }

  private async view(name: string): Promise<ScheduleView> {
    const s = this.held.get(name);
    if (!s) throw new MeshrunError(ErrorCode.NotFound, `no schedule ${name}`);
    const ids = s.rec.history.map((f) => f.job).filter((j): j is string => !!j);
    return this.viewOf(s, new Map((await this.h.jobs(ids)).map((j) => [j.id, j])));
  }

  private viewOf(s: Held, jobs: Map<string, JobRecord>): ScheduleView {
    return { rec: s.rec, nextRun: s.rec.paused ? null : s.clock.next(Math.max(this.now(), floorOf(s.rec))), jobs };
  }
}

/** The job named is this schedule's firing of this tick. */
function sameFiring(origin: JobOrigin | null | undefined, name: string, tick: number): boolean {
  return origin?.name === name && origin.tick === tick;
}

/** Ticks at or before this are decided (or before the schedule existed, or while it was paused). */
function floorOf(r: ScheduleRecord): number {
  return Math.max(r.since, r.lastTick ?? -Infinity);
}

/** The newest firing that made a job. */
export function lastRun(r: ScheduleRecord): Firing | undefined {
  return r.history.find((f) => f.job !== null);
}
