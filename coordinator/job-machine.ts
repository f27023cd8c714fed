// The job state machine, pure and whole: `step(job, event, now)` is the only way a job,
// its stages and their attempts change state. It updates the record in place (linear in
// the job's size, no copy per event) and returns the effects to carry out: runs to start
// or stop, handoff markers to deliver. The coordinator persists the record first, then
// carries out the effects; it decides nothing about states itself.
//
// Where does a stage go from `running` to `lost`? Here: an `exited` event with a fenced
// or vanished run, a `node-lost` event, or a `wait-expired` check, each under the stage's
// failover policy `fail` (or any policy once the job is being cancelled) - see loseAttempt.
import { dependenciesOf, resolveFailover, type JobSpec, type StageSpec } from '../proto/job-spec.js';
import type { RunToken } from '../proto/names.js';
import {
  isActiveAttempt,
  isTerminalStage,
  OutcomeExitCode,
  type AttemptRecord,
  type AttemptState,
  type JobRecord,
  type JobState,
  type StageRecord,
  type StageState,
} from '../proto/records.js';
import { admitOutputs, outputsBytes } from '../proto/outputs.js';
import { Limits } from '../lib/limits.js';
import type { PlacementResult } from './scheduler.js';

// ---------------------------------------------------------------------------------
// Events in, effects out.

export type JobEvent =
  /** A placement pass: settle what can be settled, place every stage that can start now. */
  | { kind: 'place'; place: (s: StageSpec) => PlacementResult; runRootOf: (node: string) => string }
  | { kind: 'started'; token: RunToken; startedAt: number }
  | { kind: 'exited'; token: RunToken; report: ExitReport }
  /** The agent refused the run before it started (workspace missing or damaged...). */
  | { kind: 'rejected'; token: RunToken; reason: string }
  | { kind: 'cancel' }
  /** The node is down, removed or wiped: its active attempts (those `only` accepts) follow their failover policy. */
  | { kind: 'node-lost'; node: string; why: string; only?: (token: RunToken) => boolean }
  /** The node heartbeats again: stages waiting out `failover: wait` on it stop waiting. */
  | { kind: 'node-back'; node: string }
  /** Time passed: a `failover: wait` that is over reassigns (or fails) its stage. */
  | { kind: 'wait-expired' }
  /** The earlier node wrote its `<stem>.remote.env` marker. */
  | { kind: 'handoff-acked'; handoff: Handoff }
  /** The node removed the job's pruned files. */
  | { kind: 'pruned'; node: string };
export type JobEventKind = JobEvent['kind'];

export type Handoff = JobRecord['handoffs'][number];

export interface StartIntent {
  type: 'start';
  node: string;
  token: RunToken;
  stage: StageSpec;
}
export interface StopIntent {
  type: 'stop';
  node: string;
  token: RunToken;
  reason: 'cancelled' | 'timeout' | 'superseded';
}
/** A handoff marker the earlier node must write (delivered at least once, until acked). */
export interface HandoffIntent {
  type: 'handoff';
  handoff: Handoff;
}
export type Effect = StartIntent | StopIntent | HandoffIntent;
/** @deprecated the older name of Effect without handoffs */
export type Intent = StartIntent | StopIntent;

/** One state change seen by `step`, at one of the three levels. `from` null: the attempt is new. */
export interface Transition {
  level: 'job' | 'stage' | 'attempt';
  /** job id, stage name, or `stage/attempt` */
  what: string;
  from: string | null;
  to: string;
  event: JobEventKind;
}

export interface StepResult {
  job: JobRecord;
  /** Something in the record changed (the coordinator still compares before writing). */
  changed: boolean;
  effects: Effect[];
  transitions: Transition[];
  /** Transitions not in the table below: a bug in this module; the coordinator logs them. */
  illegal: Transition[];
}

// ---------------------------------------------------------------------------------
// The legal transitions, written down once. `step` checks every change it makes
// against these tables and the unit tests walk every row. A state missing as a key
// is terminal: nothing leaves it.

type Table<S extends string> = Partial<Record<S | 'new', Partial<Record<S, readonly JobEventKind[]>>>>;

/** How an active attempt (starting or running) ends. */
const ATTEMPT_ENDINGS: Partial<Record<AttemptState, readonly JobEventKind[]>> = {
  succeeded: ['exited'],
  // an agent rejects a run before starting it; a `rejected` after `started` comes only
  // from a broken agent, and fails the stage all the same
  failed: ['exited', 'rejected'],
  cancelled: ['exited'],
  timeout: ['exited'],
  stale: ['exited', 'node-lost', 'wait-expired'],
  lost: ['exited', 'node-lost', 'wait-expired'],
};

export const ATTEMPT_TRANSITIONS: Table<AttemptState> = {
  new: { starting: ['place'] },
  // an exit can be reported before the started event is applied
  starting: { running: ['started'], ...ATTEMPT_ENDINGS },
  running: ATTEMPT_ENDINGS,
};

export const STAGE_TRANSITIONS: Table<StageState> = {
  queued: { running: ['place'], skipped: ['place'], cancelled: ['place'] },
  running: {
    succeeded: ['exited'],
    failed: ['exited', 'rejected'],
    timeout: ['exited'],
    lost: ['exited', 'node-lost', 'wait-expired'],
    // reassign: the attempt was superseded and the stage waits for its next placement;
    // `place` when the current attempt itself reported `superseded` (it is then stale and
    // the stage, still `running`, is placed again, or waits, or is cancelled)
    queued: ['exited', 'node-lost', 'wait-expired', 'place'],
    cancelled: ['exited', 'place'],
  },
};

export const JOB_TRANSITIONS: Table<JobState> = {
  queued: {
    running: ['place'],
    // a cancel before anything started ends the job in the next placement pass
    cancelled: ['place'],
  },
  // The job's outcome is its first bad stage's in file order (a cancel wins over all), so
  // the event that ends the last stage need not be the one that made the outcome: a lost
  // cleanup after a timed-out build ends the job as `timeout` on `node-lost`; a placement
  // pass ends it when it skips what is left after a failure.
  running: {
    succeeded: ['exited'],
    failed: ['exited', 'rejected', 'place', 'node-lost'],
    timeout: ['exited', 'rejected', 'place', 'node-lost'],
    lost: ['exited', 'rejected', 'place', 'node-lost'],
    // a `failover: wait` that runs out after a cancel ends the stage lost and the job cancelled
    cancelled: ['exited', 'rejected', 'place', 'node-lost', 'wait-expired'],
  },
};

function legal<S extends string>(table: Table<S>, from: S | 'new', to: S, event: JobEventKind): boolean {
  return table[from]?.[to]?.includes(event) ?? false;
}

/**
 * The one transition function: applies `event` to `job` at time `now` and returns what
 * to do about it. Events that do not apply (a stale token, a finished job) change nothing.
 */
export function step(job: JobRecord, event: JobEvent, now: number): StepResult {
  // the coordinator's sweep and node events visit every job: an ended one costs no snapshot
  if (job.endedAt !== null && NOTHING_WHEN_ENDED.has(event.kind)) return { job, changed: false, effects: [], transitions: [], illegal: [] };
  const before = snapshot(job);
  const effects: Effect[] = [];
  let changed = false;
  switch (event.kind) {
    case 'place': {
      const handoffsBefore = job.handoffs.length;
      const starts = advance(job, now, event.place);
      if (starts.length > 0) {
        const deps = dependenciesOf(job.spec.stages);
        const byName = new Map(job.stages.map((x) => [x.name, x]));
        for (const s of starts) recordHandoffs(job, s, deps.get(s.token.stage) ?? [], byName, event.runRootOf(s.node), now);
      }
      effects.push(...starts, ...job.handoffs.slice(handoffsBefore).map((handoff): HandoffIntent => ({ type: 'handoff', handoff })));
      changed = starts.length > 0;
      break;
    }
    case 'started':
      changed = applyStarted(job, event.token, event.startedAt);
      break;
    case 'exited':
      changed = applyExited(job, event.token, event.report, now);
      break;
    case 'rejected':
      changed = applyRejected(job, event.token, event.reason);
      break;
    case 'cancel': {
      const was = job.cancelRequested;
      effects.push(...requestCancel(job));
      changed = !was && job.cancelRequested;
      break;
    }
    case 'node-lost':
      changed = loseNode(job, event.node, event.why, event.only ?? (() => true), now);
      break;
    case 'node-back':
      changed = nodeBack(job, event.node);
      break;
    case 'wait-expired':
      changed = expireWaits(job, now);
      break;
    case 'handoff-acked': {
      const h = job.handoffs.find((x) => sameHandoff(x, event.handoff));
      if (h && !h.acked) h.acked = changed = true;
      break;
    }
    case 'pruned':
      if (!job.pruned.includes(event.node)) {
        job.pruned.push(event.node);
        changed = true;
      }
      break;
  }
  if (changed && event.kind !== 'place') summarize(job, now);
  const transitions = diffSnapshot(before, snapshot(job), event.kind);
  const illegal = transitions.filter((t) =>
    t.level === 'job'
      ? !legal(JOB_TRANSITIONS, t.from as JobState, t.to as JobState, t.event)
      : t.level === 'stage'
        ? !legal(STAGE_TRANSITIONS, t.from as StageState, t.to as StageState, t.event)
        : !legal(ATTEMPT_TRANSITIONS, (t.from ?? 'new') as AttemptState | 'new', t.to as AttemptState, t.event),
  );
  return { job, changed: changed || transitions.length > 0, effects, transitions, illegal };
}

/** Events that change nothing once a job has ended (a late exit still records a stale result). */
const NOTHING_WHEN_ENDED: ReadonlySet<JobEventKind> = new Set(['place', 'cancel', 'node-lost', 'node-back', 'wait-expired']);

interface Snapshot {
  job: JobState;
  stages: Map<string, StageState>;
  attempts: Map<string, AttemptState>;
}

function snapshot(job: JobRecord): Snapshot {
  const stages = new Map<string, StageState>();
  const attempts = new Map<string, AttemptState>();
  for (const s of job.stages) {
    stages.set(s.name, s.state);
    for (const a of s.attempts) attempts.set(`${s.name}/${a.attempt}`, a.state);
  }
  return { job: job.state, stages, attempts };
}

function diffSnapshot(a: Snapshot, b: Snapshot, event: JobEventKind): Transition[] {
  const out: Transition[] = [];
  for (const [what, to] of b.attempts) {
    const from = a.attempts.get(what) ?? null;
    if (from !== to) out.push({ level: 'attempt', what, from, to, event });
  }
  for (const [what, to] of b.stages) {
    const from = a.stages.get(what)!;
    if (from !== to) out.push({ level: 'stage', what, from, to, event });
  }
  if (a.job !== b.job) out.push({ level: 'job', what: '', from: a.job, to: b.job, event });
  return out;
}

function sameHandoff(a: Handoff, b: Handoff): boolean {
  return a.from.stage === b.from.stage && a.from.attempt === b.from.attempt && a.to.stage === b.to.stage && a.to.attempt === b.to.attempt;
}

/** Stable identity of a handoff marker, for delivery bookkeeping. */
export function handoffKey(jobId: string, h: Handoff): string {
  return `${jobId}/${h.from.stage}/${h.from.attempt}->${h.to.stage}/${h.to.attempt}`;
}

/** A new attempt placed on `node`: starting, nothing known of it yet. */
export function newAttempt(attempt: number, node: string, now: number): AttemptRecord {
  return {
    attempt,
    node,
    state: 'starting',
    exitCode: null,
    reason: '',
    assignedAt: now,
    startedAt: null,
    endedAt: null,
    logBytes: null,
    stopRequested: null,
    staleResult: null,
    artifacts: null,
    failures: [],
  };
}

export function newJobRecord(id: string, spec: JobSpec, now: number, workspace: string | null): JobRecord {
  return {
    id,
    name: spec.name,
    spec,
    state: 'queued',
    exitCode: null,
    reason: '',
    submittedAt: now,
    startedAt: null,
    endedAt: null,
    cancelRequested: false,
    workspace,
    revision: 0,
    handoffs: [],
    pruned: [],
    stages: spec.stages.map((s) => ({ name: s.name, state: 'queued', reason: '', attempts: [], nodeDownSince: null, outputs: {} })),
  };
}

export function currentAttempt(stage: StageRecord): AttemptRecord | undefined {
  return stage.attempts[stage.attempts.length - 1];
}

export function stageSpec(job: JobRecord, name: string): StageSpec {
  const s = job.spec.stages.find((x) => x.name === name);
  if (!s) throw new Error(`stage ${name} not in spec of job ${job.id}`);
  return s;
}

export function findAttempt(job: JobRecord, t: RunToken): { stage: StageRecord; attempt: AttemptRecord } | undefined {
  if (t.job !== job.id) return undefined;
  const stage = job.stages.find((s) => s.name === t.stage);
  const attempt = stage?.attempts.find((a) => a.attempt === t.attempt);
  return stage && attempt ? { stage, attempt } : undefined;
}

/**
 * Places every stage that can start now; returns the starts to send. One pass over the stages
 * in dependency order (file order where `needs` allow) settles everything: a stage is looked
 * at only after every stage it needs, so a skip or cancel reaches its dependents in the same
 * pass. Linear in stages plus dependency edges.
 */
export function advance(job: JobRecord, now: number, place: (s: StageSpec) => PlacementResult): StartIntent[] {
  if (job.endedAt !== null) return [];
  const deps = dependenciesOf(job.spec.stages);
  const byName = new Map(job.stages.map((s) => [s.name, s]));
  const specs = new Map(job.spec.stages.map((s) => [s.name, s]));
  const starts: StartIntent[] = [];
  for (const name of dependencyOrder(job.spec.stages, deps)) {
    const stage = byName.get(name);
    const spec = specs.get(name);
    if (!stage || !spec) continue;
    const start = settleStage(job, stage, spec, deps.get(name) ?? [], byName, now, place);
    if (start) starts.push(start);
  }
  summarize(job, now);
  return starts;
}

/** Stage names with every stage's dependencies before it, otherwise in file order. */
function dependencyOrder(stages: readonly StageSpec[], deps: ReadonlyMap<string, string[]>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  // iterative depth-first: a long chain of `needs` must not overflow the stack
  for (const root of stages) {
    if (seen.has(root.name)) continue;
    seen.add(root.name);
    const stack: { name: string; next: number }[] = [{ name: root.name, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const mine = deps.get(top.name) ?? [];
      if (top.next < mine.length) {
        const d = mine[top.next++]!;
        if (!seen.has(d) && deps.has(d)) {
          seen.add(d);
          stack.push({ name: d, next: 0 });
        }
        continue;
      }
      stack.pop();
      out.push(top.name);
    }
  }
  return out;
}

/** Settles one stage whose dependencies were settled before it; returns its start, if placed. */
function settleStage(
  job: JobRecord,
  stage: StageRecord,
  spec: StageSpec,
  mine: readonly string[],
  byName: ReadonlyMap<string, StageRecord>,
  now: number,
  place: (s: StageSpec) => PlacementResult,
): StartIntent | undefined {
  if (isTerminalStage(stage.state)) return undefined;
  const cur = currentAttempt(stage);
  if (cur && isActiveAttempt(cur.state)) return undefined;
  const pending = mine.filter((d) => !isTerminalStage(byName.get(d)!.state));
  if (pending.length > 0) {
    stage.state = 'queued';
    stage.reason = `waiting for ${pending.join(', ')}`;
    return undefined;
  }
  if (job.cancelRequested && !spec.always) {
    stage.state = 'cancelled';
    stage.reason = 'job cancelled before the stage started';
    return undefined;
  }
  const notOk = mine.filter((d) => byName.get(d)!.state !== 'succeeded');
  if (notOk.length > 0 && !spec.always) {
    stage.state = 'skipped';
    stage.reason = notOk.map((d) => `${d} ${byName.get(d)!.state}`).join(', ');
    return undefined;
  }
  const r = place(spec);
  if (!r.ok) {
    stage.state = 'queued';
    stage.reason = r.reason;
    return undefined;
  }
  const attempt = newAttempt(stage.attempts.length + 1, r.node, now);
  stage.attempts.push(attempt);
  stage.state = 'running';
  stage.reason = '';
  stage.nodeDownSince = null;
  if (job.startedAt === null) job.startedAt = now;
  return { type: 'start', node: r.node, token: { job: job.id, stage: stage.name, attempt: attempt.attempt }, stage: spec };
}

/** Job state and exit code from its stages. */
export function summarize(job: JobRecord, now: number): void {
  const allDone = job.stages.every((s) => isTerminalStage(s.state));
  if (!allDone) {
    const anyStarted = job.stages.some((s) => s.attempts.length > 0);
    job.state = anyStarted ? 'running' : 'queued';
    const waiting = job.stages.find((s) => s.state === 'queued' && s.reason !== '' && !s.reason.startsWith('waiting for'));
    job.reason = job.state === 'queued' && waiting ? `${waiting.name}: ${waiting.reason}` : '';
    return;
  }
  const bad = job.stages.find((s) => s.state !== 'succeeded' && s.state !== 'skipped');
  if (job.cancelRequested) {
    job.state = 'cancelled';
    job.exitCode = OutcomeExitCode.cancelled;
  } else if (!bad) {
    job.state = 'succeeded';
    job.exitCode = 0;
  } else {
    job.state = bad.state === 'failed' ? 'failed' : bad.state === 'timeout' ? 'timeout' : bad.state === 'lost' ? 'lost' : 'cancelled';
    const cur = currentAttempt(bad);
    job.exitCode =
      bad.state === 'failed' ? (cur?.exitCode ?? 1) : bad.state === 'timeout' ? OutcomeExitCode.timeout : bad.state === 'lost' ? OutcomeExitCode.lost : OutcomeExitCode.cancelled;
    job.reason = `stage ${bad.name} ${bad.state}${bad.reason ? `: ${bad.reason}` : ''}`;
  }
  job.endedAt ??= now;
}

export function applyStarted(job: JobRecord, t: RunToken, startedAt: number): boolean {
  const f = findAttempt(job, t);
  if (!f) return false;
  let changed = false;
  if (f.attempt.startedAt === null) {
    f.attempt.startedAt = startedAt;
    changed = true;
  }
  if (f.attempt.state === 'starting') {
    f.attempt.state = 'running';
    changed = true;
  }
  return changed;
}

export interface ExitReport {
  exitCode: number;
  signal: string | null;
  endedAt: number;
  logBytes: number;
  stopReason: 'cancelled' | 'timeout' | 'superseded' | 'fenced' | null;
  vanished: boolean;
  outputs?: Record<string, string>;
  artifacts?: AttemptRecord['artifacts'];
  failures?: AttemptRecord['failures'];
}

function describeExit(e: ExitReport): string {
  if (e.vanished) return 'vanished';
  if (e.exitCode === 0) return 'succeeded';
  return `exit ${e.exitCode}${e.signal ? ` (${e.signal})` : ''}`;
}

/** A run ended. Superseded attempts only get their result recorded as history. */
export function applyExited(job: JobRecord, t: RunToken, e: ExitReport, now: number): boolean {
  const f = findAttempt(job, t);
  if (!f) return false;
  const { stage, attempt } = f;
  attempt.logBytes = e.logBytes;
  if (attempt.state === 'stale') {
    if (attempt.staleResult === null) {
      attempt.staleResult = describeExit(e);
      attempt.endedAt = e.endedAt;
      return true;
    }
    return false;
  }
  if (!isActiveAttempt(attempt.state)) return false;
  attempt.endedAt = e.endedAt;
  attempt.exitCode = e.vanished ? null : e.exitCode;
  attempt.artifacts = e.artifacts ?? null;
  attempt.failures = e.failures ?? [];
  // outputs become later stages' environment: checked here too, whatever the agent sent
  if (!e.vanished && e.stopReason !== 'fenced') {
    let others = 0;
    for (const s of job.stages) if (s !== stage) others += outputsBytes(s.outputs);
    const admitted = admitOutputs(e.outputs ?? {}, Limits.jobOutputsMaxBytes - others);
    stage.outputs = admitted.outputs;
    // said where the user looks (`meshrun job`), not only in a daemon's log
    if (admitted.dropped.length > 0) attempt.reason = `outputs dropped: ${admitted.dropped[0]}${admitted.dropped.length > 1 ? ` and ${admitted.dropped.length - 1} more` : ''}`;
  }
  const spec = stageSpec(job, stage.name);
  if (e.vanished || e.stopReason === 'fenced') {
    // the node gave the run up (lease lost, or the process disappeared): a lost run
    loseAttempt(job, stage, attempt, spec, e.vanished ? 'the process vanished without an exit status' : 'the node fenced the run after losing its lease', now);
    return true;
  }
  let state: AttemptState;
  if (attempt.stopRequested === 'cancelled' || e.stopReason === 'cancelled') state = 'cancelled';
  else if (e.stopReason === 'timeout') state = 'timeout';
  else if (e.stopReason === 'superseded') state = 'stale';
  else state = e.exitCode === 0 ? 'succeeded' : 'failed';
  attempt.state = state;
  if (state === 'timeout') attempt.reason = `timed out after ${spec.timeout}ms`;
  if (state !== 'stale') {
    stage.state = state === 'succeeded' ? 'succeeded' : state === 'failed' ? 'failed' : state === 'timeout' ? 'timeout' : 'cancelled';
    const failed = attempt.failures[0];
    stage.reason = state === 'failed' ? `exit code ${e.exitCode}${failed ? `; ${failed.host} failed at "${failed.task}": ${oneLine(failed.msg, 200)}` : ''}` : attempt.reason;
  }
  return true;
}

/**
 * At most `max` characters of `msg` on one line: each run of white space that holds a line
 * break becomes " | ". Linear: the input is cut first, then each line trimmed (the regex it
 * replaces, white space around a line break, backtracked quadratically over a long run of spaces).
 */
export function oneLine(msg: string, max: number): string {
  const lines = msg.slice(0, 4 * max + 16).split('\n');
  const kept: string[] = [];
  for (const l of lines) {
    const t = l.trim();
    if (t !== '') kept.push(t);
  }
  return kept.join(' | ').slice(0, max);
}

/**
 * The attempt's node is gone (or gave the run up). `reassign` supersedes it and
 * queues a new attempt; `fail` ends the stage as lost. `wait` is handled by loseNode,
 * which starts the clock, and expireWaits, which calls this once the wait is over.
 */
export function loseAttempt(job: JobRecord, stage: StageRecord, attempt: AttemptRecord, spec: StageSpec, why: string, now: number): void {
  const policy = resolveFailover(spec.failover);
  if (policy.mode === 'fail' || job.cancelRequested) {
    attempt.state = 'lost';
    attempt.reason = why;
    attempt.endedAt ??= now;
    stage.state = 'lost';
    stage.reason = `${why} on ${attempt.node} (failover: fail)`;
    return;
  }
  attempt.state = 'stale';
  attempt.reason = `${why} on ${attempt.node}; superseded by attempt ${attempt.attempt + 1}`;
  stage.state = 'queued';
  stage.reason = `reassigning: ${why} on ${attempt.node}`;
  stage.nodeDownSince = null;
}

/** Active attempts on `node`, for failover when it goes down. */
export function activeAttemptsOn(job: JobRecord, node: string): { stage: StageRecord; attempt: AttemptRecord }[] {
  const out: { stage: StageRecord; attempt: AttemptRecord }[] = [];
  for (const stage of job.stages) {
    const a = currentAttempt(stage);
    if (a && a.node === node && isActiveAttempt(a.state)) out.push({ stage, attempt: a });
  }
  return out;
}

export function requestCancel(job: JobRecord): StopIntent[] {
  if (job.endedAt !== null || job.cancelRequested) return [];
  job.cancelRequested = true;
  const stops: StopIntent[] = [];
  for (const stage of job.stages) {
    const a = currentAttempt(stage);
    if (!a || !isActiveAttempt(a.state)) continue;
    if (stageSpec(job, stage.name).always) continue; // cleanup still runs to its end
    a.stopRequested = 'cancelled';
    stops.push({ type: 'stop', node: a.node, token: { job: job.id, stage: stage.name, attempt: a.attempt }, reason: 'cancelled' });
  }
  return stops;
}

/** The node whose runner is authoritative now: the running stage's, else the last one that ran. */
export function authoritativeNode(job: JobRecord): string {
  let last = '';
  let lastAt = -1;
  for (const s of job.stages) {
    const a = currentAttempt(s);
    if (!a) continue;
    if (isActiveAttempt(a.state)) return a.node;
    if (a.assignedAt > lastAt) {
      lastAt = a.assignedAt;
      last = a.node;
    }
  }
  return last;
}

/** The agent refused the run before starting it: the stage fails with the agent's reason. */
function applyRejected(job: JobRecord, t: RunToken, reason: string): boolean {
  const f = findAttempt(job, t);
  if (!f || !isActiveAttempt(f.attempt.state)) return false;
  f.attempt.state = 'failed';
  f.attempt.reason = `agent rejected the run: ${reason}`;
  f.stage.state = 'failed';
  f.stage.reason = f.attempt.reason;
  return true;
}

/** Each active attempt on the lost node follows its stage's failover policy; `wait` starts the clock. */
function loseNode(job: JobRecord, node: string, why: string, only: (t: RunToken) => boolean, now: number): boolean {
  if (job.endedAt !== null) return false;
  let changed = false;
  for (const { stage, attempt } of activeAttemptsOn(job, node)) {
    if (!only({ job: job.id, stage: stage.name, attempt: attempt.attempt })) continue;
    const spec = stageSpec(job, stage.name);
    const policy = resolveFailover(spec.failover);
    if (policy.mode === 'wait' && !job.cancelRequested) {
      stage.nodeDownSince ??= now;
      stage.reason = `node ${node} down; waiting up to ${policy.waitMs}ms for it to return`;
    } else {
      loseAttempt(job, stage, attempt, spec, why, now);
    }
    changed = true;
  }
  return changed;
}

function nodeBack(job: JobRecord, node: string): boolean {
  if (job.endedAt !== null) return false;
  let changed = false;
  for (const { stage } of activeAttemptsOn(job, node)) {
    if (stage.nodeDownSince === null) continue;
    stage.nodeDownSince = null;
    changed = true;
  }
  return changed;
}

/** `failover: wait` is over for a stage whose node stayed away: reassign (or fail) it now. */
function expireWaits(job: JobRecord, now: number): boolean {
  if (job.endedAt !== null) return false;
  let changed = false;
  for (const stage of job.stages) {
    const a = currentAttempt(stage);
    if (stage.nodeDownSince === null || !a || !isActiveAttempt(a.state)) continue;
    const spec = stageSpec(job, stage.name);
    const policy = resolveFailover(spec.failover);
    const waitMs = policy.mode === 'wait' ? policy.waitMs : 0;
    if (now - stage.nodeDownSince < waitMs) continue;
    loseAttempt(job, stage, a, spec, `node ${a.node} did not come back within ${waitMs}ms`, now);
    changed = true;
  }
  return changed;
}

/** Records where the job moves next, so the earlier nodes write their <stem>.remote.env. */
function recordHandoffs(job: JobRecord, s: StartIntent, deps: readonly string[], byName: ReadonlyMap<string, StageRecord>, runRoot: string, now: number): void {
  const runDir = runRoot ? `${runRoot}/${job.id}` : '';
  for (const d of deps) {
    const from = currentAttempt(byName.get(d)!);
    if (!from || from.node === s.node || from.state === 'stale') continue;
    job.handoffs.push({
      from: { stage: d, attempt: from.attempt, node: from.node },
      to: { stage: s.token.stage, attempt: s.token.attempt, node: s.node, runDir, log: runDir ? `${runDir}/${s.token.stage}.${s.token.attempt}.log` : '' },
      at: now,
      acked: false,
    });
  }
}

// ---------------------------------------------------------------------------------
// Questions the coordinator asks about a job (reads only).

/**
 * What a node reporting a live run should do with it: keep it (`current`), stop it because
 * it was superseded or its job is unknown (`superseded`), or stop it because the job is
 * being cancelled (`cancel`).
 */
export function runVerdict(job: JobRecord | undefined, t: RunToken, node: string): 'current' | 'superseded' | 'cancel' {
  const f = job && findAttempt(job, t);
  if (!f || !isActiveAttempt(f.attempt.state) || f.attempt.node !== node) return 'superseded';
  return f.attempt.stopRequested === 'cancelled' ? 'cancel' : 'current';
}

/** Attempts placed but not yet reported started: their start command may need sending again. */
export function startingAttempts(job: JobRecord): { token: RunToken; node: string }[] {
  if (job.endedAt !== null) return [];
  const out: { token: RunToken; node: string }[] = [];
  for (const stage of job.stages) {
    const a = currentAttempt(stage);
    if (a && a.state === 'starting') out.push({ token: { job: job.id, stage: stage.name, attempt: a.attempt }, node: a.node });
  }
  return out;
}

/** Nodes that still hold files of this ended job to prune. */
export function prunesDue(job: JobRecord): string[] {
  if (job.endedAt === null || !job.spec.prune?.length) return [];
  const nodes = new Set(job.stages.flatMap((s) => s.attempts.map((a) => a.node)));
  return [...nodes].filter((n) => !job.pruned.includes(n));
}

/** How many active attempts of this job each node holds (for slot accounting). */
export function activeAttemptNodes(job: JobRecord): string[] {
  if (job.endedAt !== null) return [];
  const out: string[] = [];
  for (const s of job.stages) {
    const a = currentAttempt(s);
    if (a && isActiveAttempt(a.state)) out.push(a.node);
  }
  return out;
}

