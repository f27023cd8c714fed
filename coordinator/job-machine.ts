// The job state machine, pure and whole: `step(job, event, now)` is the only way a job,
// its stages and their attempts change state. It updates the record in place (linear in
// the job's size, no copy per event) and returns the effects to carry out: runs to start
// or stop, handoff markers to deliver. The coordinator persists the record first, then
// carries out the effects; it decides nothing about states itself.
//
// Where does a stage go from `running` to `lost`? Here: an `exited` event with a fenced
// or vanished run, a `node-lost` event, or a `wait-expired` check, each under the stage's
// failover policy `fail` (or any policy once the job is being cancelled) - see loseAttempt.
//
// Two ways a stage runs again, kept apart: a failover reassign supersedes an attempt whose node
// went away (fencing; it is no try of the stage and waits for nothing), while a retry is a new try
// after an attempt *ended* failed, timed out or lost, under the stage's `retry` policy (see
// retryOrEnd), after its delay. A `retry` event (meshrun retry) starts a new run of an ended job.
//
// A stage on all nodes (`on: {labels, all: true}`, a fan-out) fixes its target nodes when it
// becomes runnable (stage.targets) and holds one attempt per node, several active at once;
// a lost node's attempt is `lost`, never moved. Its outcome follows `failTolerance`: see
// settleFanout. It has no `retry` policy (job-spec.ts refuses one); a new run re-runs it on
// all its nodes, targets fixed afresh (startRun), and it looks at the current run's attempts only.
import { dependenciesOf, isFanout, resolveFailover, resolveRetry, stageRequest, toleratedFailures, type JobSpec, type RetryOutcome, type StageSpec } from '../proto/job-spec.js';
import type { Labels, RunToken } from '../proto/names.js';
import type { Resources } from '../proto/resources.js';
import {
  isActiveAttempt,
  isTerminalStage,
  OutcomeExitCode,
  type AttemptRecord,
  type AttemptState,
  type JobOrigin,
  type JobRecord,
  type JobState,
  type StageRecord,
  type StageState,
} from '../proto/records.js';
import { admitOutputs, outputsBytes } from '../proto/outputs.js';
import { Limits } from '../lib/limits.js';
import { formatLabels, type PlacementResult } from './scheduler.js';

// ---------------------------------------------------------------------------------
// Events in, effects out.

export type JobEvent =
  /** A placement pass: settle what can be settled, place every stage that can start now. */
  | { kind: 'place'; place: (s: StageSpec) => PlacementResult; runRootOf: (node: string) => string; fanout?: FanoutPlacer }
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
  | { kind: 'pruned'; node: string }
  /** `meshrun retry`: a new run of the ended job re-runs these stages (rerunPlan) and keeps the others. */
  | { kind: 'retry'; rerun: readonly string[]; from: string | null; by: string };
export type JobEventKind = JobEvent['kind'];

/** What a placement pass knows of the fleet for stages on all nodes (without it they wait). */
export interface FanoutPlacer {
  /** The nodes a stage on all nodes with these labels targets now (ready, not draining), in name order. */
  targets(labels: Labels): string[];
  /** Places one attempt on exactly this node (its slots and resources), booking it for the rest of the pass. */
  placeOn(spec: StageSpec, node: string): PlacementResult;
  /** The node is down or removed: its share cannot run. */
  gone(node: string): boolean;
}

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
  // lost at once: a fan-out's target node went down before its turn
  new: { starting: ['place'], lost: ['place'] },
  // an exit can be reported before the started event is applied
  starting: { running: ['started'], ...ATTEMPT_ENDINGS },
  running: ATTEMPT_ENDINGS,
};

export const STAGE_TRANSITIONS: Table<StageState> = {
  // a fan-out fails on `place` when no node has its labels (or too many do), and may end
  // there when the target nodes that went down before their turn decide its outcome
  queued: { running: ['place'], skipped: ['place'], cancelled: ['place'], failed: ['place'], succeeded: ['place'] },
  running: {
    // a fan-out ends with the event that ends its last node's attempt, whichever that is
    succeeded: ['exited', 'rejected', 'node-lost', 'place'],
    failed: ['exited', 'rejected', 'node-lost', 'place'],
    timeout: ['exited'],
    lost: ['exited', 'node-lost', 'wait-expired'],
    // reassign: the attempt was superseded and the stage waits for its next placement;
    // `place` when the current attempt itself reported `superseded` (it is then stale and
    // the stage, still `running`, is placed again, or waits, or is cancelled); or the attempt
    // failed, timed out or was lost and the stage's `retry` policy waits to try again
    queued: ['exited', 'node-lost', 'wait-expired', 'place', 'rejected'],
    cancelled: ['exited', 'place', 'rejected', 'node-lost'],
  },
  // a new run of the job (meshrun retry) queues the stages it re-runs; nothing else leaves these
  succeeded: { queued: ['retry'] },
  failed: { queued: ['retry'] },
  cancelled: { queued: ['retry'] },
  timeout: { queued: ['retry'] },
  lost: { queued: ['retry'] },
  skipped: { queued: ['retry'] },
};

export const JOB_TRANSITIONS: Table<JobState> = {
  queued: {
    running: ['place'],
    // a cancel before anything started ends the job in the next placement pass
    cancelled: ['place'],
    // a fan-out with no node to run on (or whose targets all went down first) ends it there
    failed: ['place'],
    succeeded: ['place'],
  },
  // The job's outcome is its first bad stage's in file order (a cancel wins over all), so
  // the event that ends the last stage need not be the one that made the outcome: a lost
  // cleanup after a timed-out build ends the job as `timeout` on `node-lost`; a placement
  // pass ends it when it skips what is left after a failure.
  running: {
    succeeded: ['exited', 'rejected', 'place', 'node-lost'],
    failed: ['exited', 'rejected', 'place', 'node-lost'],
    timeout: ['exited', 'rejected', 'place', 'node-lost'],
    lost: ['exited', 'rejected', 'place', 'node-lost'],
    // a `failover: wait` that runs out after a cancel ends the stage lost and the job cancelled
    cancelled: ['exited', 'rejected', 'place', 'node-lost', 'wait-expired'],
  },
  // a new run (meshrun retry): only an ended job starts one (queued: one cancelled, or failed by a
  // stage on all nodes with no target node, before any stage had an attempt)
  succeeded: { running: ['retry'] },
  failed: { running: ['retry'], queued: ['retry'] },
  cancelled: { running: ['retry'], queued: ['retry'] },
  timeout: { running: ['retry'] },
  lost: { running: ['retry'] },
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
      const starts = advance(job, now, event.place, event.fanout);
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
      changed = applyRejected(job, event.token, event.reason, now);
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
    case 'retry':
      changed = startRun(job, event.rerun, event.from, event.by, now);
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

/** A new attempt placed on `node`: starting, nothing known of it yet; `run` and `tryNo` are written only past 1. */
export function newAttempt(attempt: number, node: string, now: number, run = 1, tryNo = 1): AttemptRecord {
  return {
    ...(run > 1 ? { run } : {}),
    ...(tryNo > 1 ? { try: tryNo } : {}),
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

export function newJobRecord(id: string, spec: JobSpec, now: number, workspace: string | null, schedule: JobOrigin | null = null): JobRecord {
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
    schedule,
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
export function advance(job: JobRecord, now: number, place: (s: StageSpec) => PlacementResult, fanout?: FanoutPlacer): StartIntent[] {
  if (job.endedAt !== null) return [];
  const deps = dependenciesOf(job.spec.stages);
  const byName = new Map(job.stages.map((s) => [s.name, s]));
  const specs = new Map(job.spec.stages.map((s) => [s.name, s]));
  const starts: StartIntent[] = [];
  for (const name of dependencyOrder(job.spec.stages, deps)) {
    const stage = byName.get(name);
    const spec = specs.get(name);
    if (!stage || !spec) continue;
    starts.push(...settleStage(job, stage, spec, deps.get(name) ?? [], byName, now, place, fanout));
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

/** Settles one stage whose dependencies were settled before it; returns its starts, if placed. */
function settleStage(
  job: JobRecord,
  stage: StageRecord,
  spec: StageSpec,
  mine: readonly string[],
  byName: ReadonlyMap<string, StageRecord>,
  now: number,
  place: (s: StageSpec) => PlacementResult,
  fanout: FanoutPlacer | undefined,
): StartIntent[] {
  if (isTerminalStage(stage.state)) return [];
  // a fan-out whose targets are fixed went past the checks below when it became runnable
  if (stage.targets !== undefined) return continueFanout(job, stage, spec, now, fanout);
  const cur = currentAttempt(stage);
  if (cur && isActiveAttempt(cur.state)) return [];
  const pending = mine.filter((d) => !isTerminalStage(byName.get(d)!.state));
  if (pending.length > 0) {
    stage.state = 'queued';
    stage.reason = `waiting for ${pending.join(', ')}`;
    return [];
  }
  // a cancel during a retry's delay cancels the retry, even of an `always` stage
  if (job.cancelRequested && (!spec.always || (stage.retryAt ?? null) !== null)) {
    stage.state = 'cancelled';
    stage.reason = (stage.retryAt ?? null) !== null ? 'job cancelled while the stage waited to retry' : 'job cancelled before the stage started';
    stage.retryAt = null;
    return [];
  }
  const retryAt = stage.retryAt ?? null;
  if (retryAt !== null && now < retryAt) return []; // the reason, set by retryOrEnd, says until when
  const notOk = mine.filter((d) => byName.get(d)!.state !== 'succeeded');
  if (notOk.length > 0 && !spec.always) {
    stage.state = 'skipped';
    stage.reason = notOk.map((d) => `${d} ${byName.get(d)!.state}`).join(', ');
    return [];
  }
  if (isFanout(spec)) return startFanout(job, stage, spec, now, fanout);
  const r = place(spec);
  if (!r.ok) {
    stage.state = 'queued';
    stage.reason = r.reason;
    return [];
  }
  const attempt = newAttempt(stage.attempts.length + 1, r.node, now, runOf(job), nextTry(job, stage));
  stage.attempts.push(attempt);
  if (retryAt !== null) stage.retryAt = null;
  stage.state = 'running';
  stage.reason = '';
  stage.nodeDownSince = null;
  if (job.startedAt === null) job.startedAt = now;
  return [{ type: 'start', node: r.node, token: { job: job.id, stage: stage.name, attempt: attempt.attempt }, stage: spec }];
}

/** What one attempt adds to a job's record at most (JSON, a long node name and reason): the bound a fan-out's width is checked against. */
const ATTEMPT_RECORD_BYTES = 400;

/** A fan-out became runnable: fixes its target nodes (or fails naming why there are none) and starts the first ones. */
function startFanout(job: JobRecord, stage: StageRecord, spec: StageSpec, now: number, fanout: FanoutPlacer | undefined): StartIntent[] {
  if (!fanout) {
    stage.state = 'queued';
    stage.reason = 'waiting for a placement pass that knows the fleet';
    return [];
  }
  const labels = spec.on.labels ?? {};
  const targets = fanout.targets(labels);
  const fail = (reason: string): StartIntent[] => {
    stage.targets = [];
    stage.state = 'failed';
    stage.reason = reason;
    return [];
  };
  if (targets.length === 0) return fail(`no ready node with labels ${formatLabels(labels)} to run on (all: true)`);
  if (targets.length > Limits.fanoutNodesMax) {
    return fail(`${targets.length} ready nodes have labels ${formatLabels(labels)}, over the limit of ${Limits.fanoutNodesMax} for a stage on all nodes (limit fanoutNodesMax)`);
  }
  // every target gets an attempt in the record, which must stay below what the store takes
  const projected = Buffer.byteLength(JSON.stringify(job)) + targets.length * (ATTEMPT_RECORD_BYTES + 70);
  if (projected > Limits.jobRecordMaxBytes) {
    return fail(`${targets.length} nodes would make the job's record about ${projected} bytes, over the limit of ${Limits.jobRecordMaxBytes} (limit jobRecordMaxBytes): narrow the labels or split the job`);
  }
  stage.targets = targets;
  return continueFanout(job, stage, spec, now, fanout);
}

/** The latest attempt of each node of a fan-out in the job's current run (an earlier run's are history). */
function attemptsByNode(job: JobRecord, stage: StageRecord): Map<string, AttemptRecord> {
  const run = runOf(job);
  const m = new Map<string, AttemptRecord>();
  for (const a of stage.attempts) if ((a.run ?? 1) === run) m.set(a.node, a);
  return m;
}

/** The fan-out goes no further: its job is being cancelled (an `always` stage is not), or more nodes failed than it tolerates. */
function fanoutStopping(job: JobRecord, spec: StageSpec, failures: number, targets: number): boolean {
  return (job.cancelRequested && !spec.always) || failures > toleratedFailures(spec.on.failTolerance, targets);
}

const FAILED_SHARE: ReadonlySet<AttemptState> = new Set(['failed', 'timeout', 'lost']);

/**
 * Starts the fan-out's next nodes, in target order, while fewer than `maxParallel` run and it
 * is not stopping. A node without a free slot (or the resources) waits its turn; a target node
 * down or removed before its turn is `lost` at once.
 */
function continueFanout(job: JobRecord, stage: StageRecord, spec: StageSpec, now: number, fanout: FanoutPlacer | undefined): StartIntent[] {
  const targets = stage.targets ?? [];
  const byNode = attemptsByNode(job, stage);
  let active = 0;
  let failures = 0;
  for (const a of byNode.values()) {
    if (isActiveAttempt(a.state)) active++;
    else if (FAILED_SHARE.has(a.state)) failures++;
  }
  const starts: StartIntent[] = [];
  const waiting: string[] = [];
  const max = spec.on.maxParallel ?? targets.length;
  if (fanout) {
    for (const node of targets) {
      if (active >= max || fanoutStopping(job, spec, failures, targets.length)) break;
      if (byNode.has(node)) continue;
      const attempt = newAttempt(stage.attempts.length + 1, node, now, runOf(job));
      if (fanout.gone(node)) {
        attempt.state = 'lost';
        attempt.reason = `node ${node} was down before its turn`;
        attempt.endedAt = now;
        stage.attempts.push(attempt);
        failures++;
        continue;
      }
      const r = fanout.placeOn(spec, node);
      if (!r.ok) {
        waiting.push(r.reason);
        continue;
      }
      stage.attempts.push(attempt);
      active++;
      starts.push({ type: 'start', node, token: { job: job.id, stage: stage.name, attempt: attempt.attempt }, stage: spec });
    }
  }
  if (starts.length > 0 && job.startedAt === null) job.startedAt = now;
  settleFanout(job, stage, spec, waiting);
  return starts;
}

/**
 * A fan-out's state from its nodes' attempts: running while any runs or (not stopping) any
 * is still to start; then `cancelled` when its job was cancelled, `failed` when more nodes
 * failed (failed, timeout, lost) than `failTolerance` allows, else `succeeded`. Nodes never
 * started are `skipped` (or `cancelled`) in the per-node view; their count is in the reason.
 */
export function settleFanout(job: JobRecord, stage: StageRecord, spec: StageSpec, waiting: readonly string[] = []): void {
  const targets = stage.targets ?? [];
  const byNode = attemptsByNode(job, stage);
  let active = 0;
  let ok = 0;
  let cancelled = 0;
  const bad: AttemptRecord[] = [];
  for (const a of byNode.values()) {
    if (isActiveAttempt(a.state)) active++;
    else if (a.state === 'succeeded') ok++;
    else if (FAILED_SHARE.has(a.state)) bad.push(a);
    else cancelled++;
  }
  const tolerated = toleratedFailures(spec.on.failTolerance, targets.length);
  const unstarted = targets.length - byNode.size;
  const stopping = fanoutStopping(job, spec, bad.length, targets.length);
  const badText = bad.length === 0 ? '' : `${bad.length} of ${targets.length} nodes did not succeed (${bad.slice(0, 5).map((a) => `${a.node} ${a.state}${a.exitCode !== null && a.state === 'failed' ? ` ${a.exitCode}` : ''}`).join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''})`;
  if (active > 0 || (!stopping && unstarted > 0)) {
    stage.state = byNode.size > 0 ? 'running' : 'queued';
    const parts = [`${ok} of ${targets.length} nodes succeeded`, ...(bad.length ? [`${bad.length} failed (tolerance ${tolerated})`] : []), ...(active ? [`${active} running`] : []), ...(unstarted ? [`${unstarted} to start`] : [])];
    stage.reason = parts.join(', ') + (stopping && unstarted ? '; no more nodes start' : '') + (waiting.length && !stopping ? `; waiting: ${waiting[0]}${waiting.length > 1 ? ` (and ${waiting.length - 1} more)` : ''}` : '');
    return;
  }
  const notStarted = unstarted > 0 ? `; ${unstarted} not started` : '';
  if (job.cancelRequested && !spec.always && (cancelled > 0 || unstarted > 0)) {
    stage.state = 'cancelled';
    stage.reason = `job cancelled: ${ok} of ${targets.length} nodes succeeded${notStarted}`;
  } else if (bad.length > tolerated) {
    stage.state = 'failed';
    stage.reason = `${badText}, over failTolerance ${tolerated}${unstarted > 0 ? `; ${unstarted} not started (skipped)` : ''}`;
  } else {
    stage.state = 'succeeded';
    stage.reason = bad.length ? `${badText}, within failTolerance ${tolerated}` : '';
  }
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
    // a fan-out's: its first failed node's exit code
    const cur = bad.targets !== undefined ? bad.attempts.find((a) => (a.run ?? 1) === runOf(job) && a.state === 'failed' && a.exitCode !== null) : currentAttempt(bad);
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
  eventsBytes?: number;
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
  if (e.eventsBytes) attempt.eventsBytes = e.eventsBytes;
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
  const fanout = stage.targets !== undefined;
  // outputs become later stages' environment: checked here too, whatever the agent sent.
  // A fan-out's are not passed on (which node's would a later stage get?).
  if (!fanout && !e.vanished && e.stopReason !== 'fenced') {
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
  if (fanout) {
    // only a node whose share was already given up is told its run is superseded
    if (state === 'stale') {
      state = 'lost';
      attempt.reason = 'the node reported the run superseded';
    }
    attempt.state = state;
    if (state === 'timeout') attempt.reason = `timed out after ${spec.timeout}ms`;
    if (state === 'failed') attempt.reason = `exit code ${e.exitCode}${attempt.failures[0] ? `; ${attempt.failures[0].host} failed at "${attempt.failures[0].task}": ${oneLine(attempt.failures[0].msg, 200)}` : ''}`;
    settleFanout(job, stage, spec);
    return true;
  }
  attempt.state = state;
  if (state === 'timeout') attempt.reason = `timed out after ${spec.timeout}ms`;
  if (state !== 'stale') {
    stage.state = state === 'succeeded' ? 'succeeded' : state === 'failed' ? 'failed' : state === 'timeout' ? 'timeout' : 'cancelled';
    const failed = attempt.failures[0];
    stage.reason = state === 'failed' ? `exit code ${e.exitCode}${failed ? `; ${failed.host} failed at "${failed.task}": ${oneLine(failed.msg, 200)}` : ''}` : attempt.reason;
    if (state === 'failed' || state === 'timeout') retryOrEnd(job, stage, attempt, spec, state, now);
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
  if (stage.targets !== undefined) {
    // a fan-out's share belongs to its node: lost, never moved to another
    attempt.state = 'lost';
    attempt.reason = why;
    attempt.endedAt ??= now;
    settleFanout(job, stage, spec);
    return;
  }
  const policy = resolveFailover(spec.failover);
  if (policy.mode === 'fail' || job.cancelRequested) {
    attempt.state = 'lost';
    attempt.reason = why;
    attempt.endedAt ??= now;
    stage.state = 'lost';
    stage.reason = `${why} on ${attempt.node} (failover: fail)`;
    retryOrEnd(job, stage, attempt, spec, 'lost', now);
    return;
  }
  attempt.state = 'stale';
  attempt.reason = `${why} on ${attempt.node}; superseded by attempt ${attempt.attempt + 1}`;
  stage.state = 'queued';
  stage.reason = `reassigning: ${why} on ${attempt.node}`;
  stage.nodeDownSince = null;
}

/** The attempts of a stage that can be active: its current one, or every one of a fan-out. */
export function liveAttempts(stage: StageRecord): AttemptRecord[] {
  if (stage.targets !== undefined) return stage.attempts.filter((a) => isActiveAttempt(a.state));
  const a = currentAttempt(stage);
  return a && isActiveAttempt(a.state) ? [a] : [];
}

/** Active attempts on `node`, for failover when it goes down. */
export function activeAttemptsOn(job: JobRecord, node: string): { stage: StageRecord; attempt: AttemptRecord }[] {
  const out: { stage: StageRecord; attempt: AttemptRecord }[] = [];
  for (const stage of job.stages) for (const a of liveAttempts(stage)) if (a.node === node) out.push({ stage, attempt: a });
  return out;
}

export function requestCancel(job: JobRecord): StopIntent[] {
  if (job.endedAt !== null || job.cancelRequested) return [];
  job.cancelRequested = true;
  const stops: StopIntent[] = [];
  for (const stage of job.stages) {
    if (stageSpec(job, stage.name).always) continue; // cleanup still runs to its end
    for (const a of liveAttempts(stage)) {
      a.stopRequested = 'cancelled';
      stops.push({ type: 'stop', node: a.node, token: { job: job.id, stage: stage.name, attempt: a.attempt }, reason: 'cancelled' });
    }
  }
  return stops;
}

/** The node whose runner is authoritative now: the running stage's, else the last one that ran. */
export function authoritativeNode(job: JobRecord): string {
  let last = '';
  let lastAt = -1;
  for (const s of job.stages) {
    const live = liveAttempts(s)[0];
    if (live) return live.node;
    const a = currentAttempt(s);
    if (!a) continue;
    if (a.assignedAt > lastAt) {
      lastAt = a.assignedAt;
      last = a.node;
    }
  }
  return last;
}

/** The agent refused the run before starting it: the stage fails with the agent's reason. */
function applyRejected(job: JobRecord, t: RunToken, reason: string, now: number): boolean {
  const f = findAttempt(job, t);
  if (!f || !isActiveAttempt(f.attempt.state)) return false;
  f.attempt.state = 'failed';
  f.attempt.reason = `agent rejected the run: ${reason}`;
  if (f.stage.targets !== undefined) {
    settleFanout(job, f.stage, stageSpec(job, f.stage.name));
    return true;
  }
  f.stage.state = 'failed';
  f.stage.reason = f.attempt.reason;
  retryOrEnd(job, f.stage, f.attempt, stageSpec(job, f.stage.name), 'failed', now);
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

// ---------------------------------------------------------------------------------
// Retries (a stage's `retry` policy) and runs (meshrun retry).

/** The job's current run: 1 until `meshrun retry` starts another. */
export function runOf(job: JobRecord): number {
  return job.run ?? 1;
}

/** Which try of its stage in the current run an attempt is (1 when the record does not say). */
export function tryOf(a: AttemptRecord): number {
  return a.try ?? 1;
}

/**
 * The try the stage's next attempt is: one more after a retry (`retryAt` set), the same after a
 * failover reassign (the superseded attempt was no try of its own), else the run's first.
 */
function nextTry(job: JobRecord, stage: StageRecord): number {
  const prev = currentAttempt(stage);
  if (!prev || (prev.run ?? 1) !== runOf(job)) return 1;
  if ((stage.retryAt ?? null) !== null) return tryOf(prev) + 1;
  return prev.state === 'stale' ? tryOf(prev) : 1;
}

/**
 * The stage's attempt just ended `outcome` (the stage says so already): when its `retry` policy
 * names the outcome and tries remain, the stage is queued again with the time the next try is due
 * (in the record, so a coordinator that restarts or takes over honours the delay); otherwise it
 * stays as it ended. A job being cancelled is never retried.
 */
function retryOrEnd(job: JobRecord, stage: StageRecord, attempt: AttemptRecord, spec: StageSpec, outcome: RetryOutcome, now: number): void {
  const policy = resolveRetry(spec.retry);
  const tried = tryOf(attempt);
  if (job.cancelRequested || tried >= policy.attempts || !policy.on.includes(outcome)) {
    if (policy.attempts > 1 && policy.on.includes(outcome) && !job.cancelRequested) stage.reason = `${stage.reason} (try ${tried} of ${policy.attempts}, no tries left)`;
    return;
  }
  const at = now + policy.delayMs;
  stage.state = 'queued';
  stage.retryAt = at;
  stage.reason = `try ${tried + 1} of ${policy.attempts} ${policy.delayMs > 0 ? `at ${new Date(at).toISOString()}` : 'now'}: try ${tried} ${outcome}: ${stage.reason}`;
  stage.nodeDownSince = null;
}

/** A stage of the job waits for a retry that is due by `now`: a placement pass should look at it. */
export function retryDue(job: JobRecord, now: number): boolean {
  if (job.endedAt !== null) return false;
  for (const s of job.stages) if (s.state === 'queued' && (s.retryAt ?? null) !== null && s.retryAt! <= now) return true;
  return false;
}

/** What `meshrun retry` would re-run, or why it cannot (the coordinator says `why` to the caller). */
export type RerunPlan = { ok: true; rerun: string[] } | { ok: false; why: 'running' | 'nothing' | 'unknown-stage' | 'runs'; message: string };

/**
 * The stages a new run of the ended job re-runs: every stage that did not succeed, `from` (when
 * given) too, and every stage that depends on one of those, transitively (its inputs change).
 * The others keep their results, outputs and artifacts. Linear in stages plus dependency edges.
 */
export function rerunPlan(job: JobRecord, from: string | null): RerunPlan {
  if (job.endedAt === null) return { ok: false, why: 'running', message: `job ${job.id} is ${job.state}: only an ended job can be retried (cancel it first: meshrun cancel ${job.id})` };
  if (from !== null && !job.stages.some((s) => s.name === from)) {
    return { ok: false, why: 'unknown-stage', message: `job ${job.id} has no stage "${from}" (its stages: ${job.stages.map((s) => s.name).join(', ')})` };
  }
  if (runOf(job) >= Limits.jobRunsMax) return { ok: false, why: 'runs', message: `job ${job.id} has run ${runOf(job)} times, the most one job may (limit jobRunsMax): submit it again` };
  const seeds = job.stages.filter((s) => s.state !== 'succeeded' || s.name === from).map((s) => s.name);
  if (seeds.length === 0) return { ok: false, why: 'nothing', message: `job ${job.id} succeeded: nothing to re-run (--from STAGE runs that stage and what depends on it again)` };
  const dependents = new Map<string, string[]>();
  for (const [name, deps] of dependenciesOf(job.spec.stages)) for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), name]);
  const rerun = new Set<string>();
  const todo = [...seeds];
  while (todo.length > 0) {
    const n = todo.pop()!;
    if (rerun.has(n)) continue;
    rerun.add(n);
    todo.push(...(dependents.get(n) ?? []));
  }
  return { ok: true, rerun: job.stages.map((s) => s.name).filter((n) => rerun.has(n)) };
}

/**
 * Starts the next run of an ended job: the stages in `rerun` are queued afresh (their outputs
 * cleared; their attempts kept as history, numbered on), the others keep what they had, and the
 * run that ended is recorded with its outcome in `runs`.
 */
function startRun(job: JobRecord, rerun: readonly string[], from: string | null, by: string, now: number): boolean {
  if (job.endedAt === null || rerun.length === 0) return false;
  const run = runOf(job);
  const runs = job.runs ?? [{ run: 1, at: job.submittedAt, by: '', from: null, rerun: job.stages.map((s) => s.name), state: null, exitCode: null, reason: '', endedAt: null }];
  const last = runs[runs.length - 1]!;
  Object.assign(last, { state: job.state, exitCode: job.exitCode, reason: job.reason, endedAt: job.endedAt });
  runs.push({ run: run + 1, at: now, by, from, rerun: [...rerun], state: null, exitCode: null, reason: '', endedAt: null });
  job.runs = runs;
  job.run = run + 1;
  const again = new Set(rerun);
  for (const s of job.stages) {
    if (!again.has(s.name)) continue;
    s.state = 'queued';
    s.reason = `run ${run + 1}`;
    s.outputs = {};
    s.nodeDownSince = null;
    s.retryAt = null;
    // a stage on all nodes runs on every node again, its targets fixed afresh when it becomes runnable
    delete s.targets;
  }
  job.state = 'running';
  job.exitCode = null;
  job.reason = '';
  job.endedAt = null;
  job.cancelRequested = false;
  // the new run's nodes prune again when it ends
  job.pruned = [];
  return true;
}

/** Records where the job moves next, so the earlier nodes write their <stem>.remote.env. */
function recordHandoffs(job: JobRecord, s: StartIntent, deps: readonly string[], byName: ReadonlyMap<string, StageRecord>, runRoot: string, now: number): void {
  // a fan-out runs on many nodes at once: no one marker can say where the job went (or came from)
  if (isFanout(s.stage)) return;
  const runDir = runRoot ? `${runRoot}/${job.id}` : '';
  for (const d of deps) {
    if (byName.get(d)!.targets !== undefined) continue;
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
    for (const a of liveAttempts(stage)) if (a.state === 'starting') out.push({ token: { job: job.id, stage: stage.name, attempt: a.attempt }, node: a.node });
  }
  return out;
}

/** Nodes that still hold files of this ended job to prune. */
export function prunesDue(job: JobRecord): string[] {
  if (job.endedAt === null || !job.spec.prune?.length) return [];
  const nodes = new Set(job.stages.flatMap((s) => s.attempts.map((a) => a.node)));
  return [...nodes].filter((n) => !job.pruned.includes(n));
}

/** The active attempts of this job: where each runs and what its stage requests (slot and resource accounting). */
export function activeAttempts(job: JobRecord): { node: string; request: Resources }[] {
  if (job.endedAt !== null) return [];
  const out: { node: string; request: Resources }[] = [];
  job.stages.forEach((s, i) => {
    const live = liveAttempts(s);
    if (live.length === 0) return;
    // the record's stages are the spec's, in order (newJobRecord)
    const spec = job.spec.stages[i]?.name === s.name ? job.spec.stages[i]! : stageSpec(job, s.name);
    for (const a of live) out.push({ node: a.node, request: stageRequest(spec) });
  });
  return out;
}

/** One target node of a fan-out and how its share went (the per-node table of `meshrun job`). */
export interface NodeShare {
  node: string;
  /** An attempt's state, or for a node never started: `queued` (its turn is still to come), `skipped` (too many failed), `cancelled`. */
  state: AttemptState | 'queued' | 'skipped';
  attempt: AttemptRecord | undefined;
}

/** A fan-out's nodes in target order, each with its latest attempt; empty for a stage on one node. */
export function nodeShares(job: JobRecord, stage: StageRecord): NodeShare[] {
  if (stage.targets === undefined) return [];
  const byNode = attemptsByNode(job, stage);
  const unstarted: NodeShare['state'] = !isTerminalStage(stage.state) ? 'queued' : job.cancelRequested && stage.state === 'cancelled' ? 'cancelled' : 'skipped';
  return stage.targets.map((node) => {
    const a = byNode.get(node);
    return { node, state: a ? a.state : unstarted, attempt: a };
  });
}
