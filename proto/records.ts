// Durable coordinator records kept in JetStream KV; parsed on load so a damaged
// record is reported and skipped instead of crashing the coordinator.
import { z } from 'zod';
import { jobSpecSchema } from './job-spec.js';
import { artifactsRefSchema, hostFailureSchema } from './bus.js';

export const jobStateSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'lost']);
export type JobState = z.infer<typeof jobStateSchema>;

export const stageStateSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'lost', 'skipped']);
export type StageState = z.infer<typeof stageStateSchema>;

export const attemptStateSchema = z.enum(['starting', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'lost', 'stale']);
export type AttemptState = z.infer<typeof attemptStateSchema>;

export const attemptRecordSchema = z.object({
  attempt: z.number().int().min(1),
  node: z.string(),
  state: attemptStateSchema,
  exitCode: z.number().int().nullable(),
  reason: z.string().default(''),
  assignedAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  logBytes: z.number().int().nullable(),
  /** The playbook events its run wrote (bytes), from its exit report; absent when none. */
  eventsBytes: z.number().int().min(0).optional(),
  /** When the coordinator asked this attempt to stop, and why. */
  stopRequested: z.enum(['cancelled', 'timeout', 'superseded']).nullable().default(null),
  /** Result the attempt reported after it was superseded (kept for history). */
  staleResult: z.string().nullable().default(null),
  artifacts: artifactsRefSchema.nullable().default(null),
  failures: z.array(hostFailureSchema).default([]),
  /** The run of the job this attempt belongs to (`meshrun retry` starts the next); absent: 1. */
  run: z.number().int().min(1).optional(),
  /** Which try of its stage in that run (`retry: {attempts}`); a failover reassign keeps it. Absent: 1. */
  try: z.number().int().min(1).optional(),
});
export type AttemptRecord = z.infer<typeof attemptRecordSchema>;

export const stageRecordSchema = z.object({
  name: z.string(),
  state: stageStateSchema,
  reason: z.string().default(''),
  attempts: z.array(attemptRecordSchema),
  /** Since when the stage's node has been down (failover: wait). */
  nodeDownSince: z.number().nullable().default(null),
  outputs: z.record(z.string(), z.string()).default({}),
  /**
   * A stage on all nodes (`on: {labels, all: true}`): the nodes it targets, fixed when it became
   * runnable; each gets one attempt (`attempt.node`). Absent for a stage on one node.
   */
  targets: z.array(z.string()).optional(),
  /** A retry of the stage is due at this time (epoch ms): kept here, so a new leader honours it. */
  retryAt: z.number().nullable().optional(),
});
export type StageRecord = z.infer<typeof stageRecordSchema>;

/** One run of a job: the first (submitted) or one `meshrun retry` started, and how it ended. */
export const jobRunSchema = z.object({
  run: z.number().int().min(1),
  /** When it began (the submission, or the retry). */
  at: z.number(),
  /** Who started it with `meshrun retry` ('' for the first run). */
  by: z.string().default(''),
  /** `--from` of the retry (null: none). */
  from: z.string().nullable().default(null),
  /** The stages it ran again (every stage for the first run). */
  rerun: z.array(z.string()).default([]),
  /** How it ended; null while it is the job's current run. */
  state: jobStateSchema.nullable().default(null),
  exitCode: z.number().int().nullable().default(null),
  reason: z.string().default(''),
  endedAt: z.number().nullable().default(null),
});
export type JobRun = z.infer<typeof jobRunSchema>;

/** The schedule whose firing made a job, and the tick it fired for (null: a run-now). */
export const jobOriginSchema = z.object({ name: z.string(), tick: z.number().nullable() });
export type JobOrigin = z.infer<typeof jobOriginSchema>;
/**
 * A stored record's spec holds durations as the milliseconds its job file's "2h" became, but the
 * job file's schema reads a bare number as seconds: read back as they are, a stage's `timeout`
 * and `failover: {wait}` grew a thousandfold at every coordinator start or change of leader.
 * They are read as milliseconds here.
 */
export function storedDurationsAsMs(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || !Array.isArray((v as { stages?: unknown }).stages)) return v;
  const spec = v as { stages: unknown[] };
  const ms = (n: unknown): unknown => (typeof n === 'number' ? `${n}ms` : n);
  return {
    ...spec,
    stages: spec.stages.map((s) => {
      if (s === null || typeof s !== 'object') return s;
      const stage = { ...(s as Record<string, unknown>) };
      if ('timeout' in stage) stage.timeout = ms(stage.timeout);
      const f = stage.failover;
      if (f !== null && typeof f === 'object' && 'wait' in f) stage.failover = { ...f, wait: ms((f as { wait: unknown }).wait) };
      const r = stage.retry;
      if (r !== null && typeof r === 'object' && 'delay' in r) stage.retry = { ...r, delay: ms((r as { delay: unknown }).delay) };
      return stage;
    }),
  };
}

export const jobRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  spec: z.preprocess(storedDurationsAsMs, jobSpecSchema),
  state: jobStateSchema,
  exitCode: z.number().int().nullable(),
  reason: z.string().default(''),
  submittedAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  cancelRequested: z.boolean().default(false),
  workspace: z.string().nullable().default(null),
  stages: z.array(stageRecordSchema),
  /** Bumped on every write (the writes themselves are compare-and-set on the KV revision). */
  revision: z.number().int().default(0),
  /** Where the job moved between nodes; each marker is acked by the earlier node. */
  handoffs: z
    .array(
      z.object({
        from: z.object({ stage: z.string(), attempt: z.number(), node: z.string() }),
        to: z.object({ stage: z.string(), attempt: z.number(), node: z.string(), runDir: z.string(), log: z.string() }),
        at: z.number(),
        acked: z.boolean(),
      }),
    )
    .default([]),
  /** Nodes whose run directories of this job were pruned after it ended. */
  pruned: z.array(z.string()).default([]),
  /** Fired by a schedule (null: submitted by a client). */
  schedule: jobOriginSchema.nullable().default(null),
  /** The job's current run (absent: 1, never retried). */
  run: z.number().int().min(1).optional(),
  /** Every run once the job was retried, oldest first (the last is the current one); absent before. */
  runs: z.array(jobRunSchema).optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

export const TERMINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'timeout', 'lost'];
export const TERMINAL_STAGE_STATES: readonly StageState[] = ['succeeded', 'failed', 'cancelled', 'timeout', 'lost', 'skipped'];
export const ACTIVE_ATTEMPT_STATES: readonly AttemptState[] = ['starting', 'running'];

export function isTerminalJob(s: JobState): boolean {
  return TERMINAL_JOB_STATES.includes(s);
}
export function isTerminalStage(s: StageState): boolean {
  return TERMINAL_STAGE_STATES.includes(s);
}
export function isActiveAttempt(s: AttemptState): boolean {
  return ACTIVE_ATTEMPT_STATES.includes(s);
}

/** Exit codes a follower exits with when the job ended without a process exit code. */
export const OutcomeExitCode = {
  cancelled: 130,
  timeout: 124,
  lost: 125,
} as const;

/**
 * A job's entry in the job index (bucket mr_job_index, keyed by job id): what the coordinator
 * reads at start-up instead of every record (which stays in mr_jobs). Written when the job is
 * created (`endedAt` null: its record is read at start-up) and once more when it has finished
 * (ended, and no node is owed anything for it): from then on it never changes.
 */
export const jobIndexEntrySchema = z.object({
  name: z.string(),
  state: jobStateSchema,
  submittedAt: z.number(),
  endedAt: z.number().nullable(),
  workspace: z.string().nullable().default(null),
});
export type JobIndexEntry = z.infer<typeof jobIndexEntrySchema>;
