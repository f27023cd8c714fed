// Schedules: a job spec fired by the leading coordinator on a cron expression. The record kept
// in KV mr_schedules (one key per schedule name) and the gRPC requests that change it.
import { z } from 'zod';
import { Limits } from '../lib/limits.js';

const SCHEDULE_NAME_RE = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_-]{0,${Limits.scheduleNameMaxChars - 1}}$`);

/** A schedule's name: a KV key and the prefix of its firings' job ids, so the job-id alphabet, shorter. */
export const scheduleNameSchema = z.string().regex(SCHEDULE_NAME_RE, {
  message: `must be letters, digits, "-" and "_", starting with a letter or digit, at most ${Limits.scheduleNameMaxChars} characters (limit scheduleNameMaxChars)`,
});

export const OVERLAP_POLICIES = ['skip', 'queue', 'allow'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
export const CATCH_UP_POLICIES = ['none', 'once'] as const;
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];

/** What the leader decided for one tick (or a run-now), kept newest first in the record. */
export const FIRING_OUTCOMES = ['fired', 'caught-up', 'queued', 'fired-queued', 'skipped', 'missed', 'run-now', 'failed'] as const;
export type FiringOutcome = (typeof FIRING_OUTCOMES)[number];

export const firingSchema = z.object({
  /** The tick (epoch ms) decided; null for a run-now. */
  tick: z.number().nullable(),
  /** When it was decided. */
  at: z.number(),
  outcome: z.enum(FIRING_OUTCOMES),
  /** The job it made, if any. */
  job: z.string().nullable(),
  /** Why (skipped: which job still runs; missed: how late; failed: the error). */
  detail: z.string().max(1024).default(''),
});
export type Firing = z.infer<typeof firingSchema>;

export const scheduleRecordSchema = z.object({
  name: scheduleNameSchema,
  cron: z.string().min(1).max(Limits.scheduleCronMaxChars),
  /** IANA zone the expression is read in; 'UTC' when none was given. */
  timeZone: z.string().min(1).max(Limits.scheduleTimeZoneMaxChars),
  /** The job spec as the client sent it (JSON of the YAML): submitted as is at every firing. */
  specJson: z.string().max(Limits.jobSpecMaxBytes),
  /** The job's name, from the spec (for listings without parsing it). */
  jobName: z.string(),
  workspace: z.string().nullable(),
  overlap: z.enum(OVERLAP_POLICIES),
  catchUp: z.enum(CATCH_UP_POLICIES),
  catchUpWindowMs: z.number().int().min(0),
  paused: z.boolean(),
  createdAt: z.number(),
  createdBy: z.string(),
  /** Ticks at or before this are never fired: creation, or the last resume (a pause is not a miss). */
  since: z.number(),
  /** The latest tick decided (fired, queued, skipped or missed); later ticks only. Compare-and-set. */
  lastTick: z.number().nullable(),
  /** A tick waiting for the previous firing's job to end (overlap queue): at most one. */
  queuedTick: z.number().nullable(),
  history: z.array(firingSchema).max(Limits.scheduleHistoryMax),
});
export type ScheduleRecord = z.infer<typeof scheduleRecordSchema>;

// ---- gRPC requests ----

/** '' on the wire: the default (skip, none). */
const overlapField = z.enum(['', ...OVERLAP_POLICIES], { message: `must be one of ${OVERLAP_POLICIES.join(', ')}` }).default('');
const catchUpField = z.enum(['', ...CATCH_UP_POLICIES], { message: `must be one of ${CATCH_UP_POLICIES.join(', ')}` }).default('');

export const createScheduleRequestSchema = z.object({
  name: scheduleNameSchema,
  cron: z
    .string()
    .min(1, { message: 'is empty: a cron expression is needed, e.g. "0 3 * * *"' })
    .max(Limits.scheduleCronMaxChars, { message: `is over ${Limits.scheduleCronMaxChars} characters (limit scheduleCronMaxChars)` }),
  timeZone: z.string().max(Limits.scheduleTimeZoneMaxChars, { message: `is over ${Limits.scheduleTimeZoneMaxChars} characters (limit scheduleTimeZoneMaxChars)` }).default(''),
  specJson: z.string().min(2).max(Limits.jobSpecMaxBytes, { message: `job spec is over ${Limits.jobSpecMaxBytes} bytes (limit jobSpecMaxBytes)` }),
  workspace: z.union([z.literal(''), z.string().regex(/^[a-f0-9]{64}$/, { message: 'must be the sha256 of a stored workspace' })]).default(''),
  overlap: overlapField,
  catchUp: catchUpField,
  /** 0: the default window (with catchUp once). */
  catchUpWindowMs: z.number().int().min(0).max(366 * 86_400_000, { message: 'may be at most 366 days' }).default(0),
});
export type CreateScheduleRequest = z.output<typeof createScheduleRequestSchema>;

export const scheduleRefSchema = z.object({ name: scheduleNameSchema });
export const listSchedulesRequestSchema = z.object({});
