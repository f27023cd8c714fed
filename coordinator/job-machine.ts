// The job state machine, pure: given a job record and what happened (a placement,
// a run event, a node lost, a cancel), change the record and say what to send.
// The coordinator persists the record before it acts on the returned intents.
import { dependenciesOf, resolveFailover, type JobSpec, type StageSpec } from '../proto/job-spec.js';
import type { RunToken } from '../proto/names.js';
import {
  isActiveAttempt,
  isTerminalStage,
  OutcomeExitCode,
  type AttemptRecord,
  type AttemptState,
  type JobRecord,
  type StageRecord,
} from '../proto/records.js';
import type { PlacementResult } from './scheduler.js';

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
export type Intent = StartIntent | StopIntent;

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

/** Places every stage that can start now; returns the starts to send. */
export function advance(job: JobRecord, now: number, place: (s: StageSpec) => PlacementResult): StartIntent[] {
  if (job.endedAt !== null) return [];
  // one pass settles a stage; a skip or cancel can enable the next one, so repeat
  const starts: StartIntent[] = [];
  for (let i = 0; i <= job.stages.length; i++) {
    const before = job.stages.map((s) => s.state).join();
    starts.push(...advanceOnce(job, now, place));
    if (job.stages.map((s) => s.state).join() === before) break;
  }
  summarize(job, now);
  return starts;
}

function advanceOnce(job: JobRecord, now: number, place: (s: StageSpec) => PlacementResult): StartIntent[] {
  const deps = dependenciesOf(job.spec.stages);
  const byName = new Map(job.stages.map((s) => [s.name, s]));
  const starts: StartIntent[] = [];
  for (const stage of job.stages) {
    if (isTerminalStage(stage.state)) continue;
    const cur = currentAttempt(stage);
    if (cur && isActiveAttempt(cur.state)) continue;
    const spec = stageSpec(job, stage.name);
    const mine = deps.get(stage.name) ?? [];
    const pending = mine.filter((d) => !isTerminalStage(byName.get(d)!.state));
    if (pending.length > 0) {
      stage.state = 'queued';
      stage.reason = `waiting for ${pending.join(', ')}`;
      continue;
    }
    if (job.cancelRequested && !spec.always) {
      stage.state = 'cancelled';
      stage.reason = 'job cancelled before the stage started';
      continue;
    }
    const notOk = mine.filter((d) => byName.get(d)!.state !== 'succeeded');
    if (notOk.length > 0 && !spec.always) {
      stage.state = 'skipped';
      stage.reason = notOk.map((d) => `${d} ${byName.get(d)!.state}`).join(', ');
      continue;
    }
    const r = place(spec);
    if (!r.ok) {
      stage.state = 'queued';
      stage.reason = r.reason;
      continue;
    }
    const attempt: AttemptRecord = {
      attempt: stage.attempts.length + 1,
      node: r.node,
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
    stage.attempts.push(attempt);
    stage.state = 'running';
    stage.reason = '';
    stage.nodeDownSince = null;
    if (job.startedAt === null) job.startedAt = now;
    starts.push({ type: 'start', node: r.node, token: { job: job.id, stage: stage.name, attempt: attempt.attempt }, stage: spec });
  }
  return starts;
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
  if (!e.vanished && e.stopReason !== 'fenced') stage.outputs = e.outputs ?? {};
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
    stage.reason = state === 'failed' ? `exit code ${e.exitCode}${failed ? `; ${failed.host} failed at "${failed.task}": ${failed.msg.trim().replace(/\s*\n\s*/g, ' | ').slice(0, 200)}` : ''}` : attempt.reason;
  }
  return true;
}

/**
 * The attempt's node is gone (or gave the run up). `reassign` supersedes it and
 * queues a new attempt; `fail` ends the stage as lost. `wait` is handled by the
 * caller, which calls this once the wait is over.
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
