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
  /** When the coordinator asked this attempt to stop, and why. */
  stopRequested: z.enum(['cancelled', 'timeout', 'superseded']).nullable().default(null),
  /** Result the attempt reported after it was superseded (kept for history). */
  staleResult: z.string().nullable().default(null),
  artifacts: artifactsRefSchema.nullable().default(null),
  failures: z.array(hostFailureSchema).default([]),
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
});
export type StageRecord = z.infer<typeof stageRecordSchema>;

export const jobRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  spec: jobSpecSchema,
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
