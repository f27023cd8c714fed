// What crosses the web dashboard's HTTP boundary (coordinator/web/): its limits, the login
// token's form, and the schemas every request body, query and resume id is parsed with.
import { z } from 'zod';
import { jobIdSchema, nodeNameSchema } from './names.js';
import { jobStateSchema } from './records.js';

export const WebLimits = {
  /** Sessions held at once, every user together (the oldest goes when a new one would pass it). */
  sessionsMax: 1000,
  /** Sessions one user may hold at once (the user's oldest goes). */
  sessionsPerUser: 16,
  /** A session lives this long at most (and never past the user's certificate). */
  sessionTtlMs: 12 * 3600_000,
  /** Login tokens waiting to be used, every user together. */
  loginTokensMax: 256,
  /** Login tokens one user may have waiting. */
  loginTokensPerUser: 8,
  /** A login token not used in this time is void. */
  loginTokenTtlMs: 5 * 60_000,
  /** Live streams (server-sent events) one user may have open at once. */
  streamsPerUser: 8,
  /** Live streams open at once, every user together. */
  streamsMax: 256,
  /** Bytes a live stream may have queued for a slow browser before it is dropped (it resumes by offset). */
  streamBufferMaxBytes: 4 * 1024 * 1024,
  /** A request body (login, actions). */
  bodyMaxBytes: 16 * 1024,
  /** Jobs on one page of the list. */
  pageSizeMax: 200,
  /** Jobs the list filters: the newest this many, and every job that has not ended. */
  jobsScanMax: 10_000,
  /** A resume id (Last-Event-ID) the server accepts. */
  resumeIdMaxChars: 16 * 1024,
} as const;

export const SESSION_COOKIE = 'mr_session';
export const CSRF_HEADER = 'x-meshrun-csrf';

/** `mrw1.<43 base64url characters>`: 256 random bits; only its hash is kept. */
export const webLoginTokenSchema = z.string().trim().regex(/^mrw1\.[A-Za-z0-9_-]{43}$/, { message: 'is not a meshrun web login token (mrw1.<secret>, from meshrun web login)' });

export const webLoginBodySchema = z.object({ token: webLoginTokenSchema }).strict();

const filterText = z.string().trim().max(128, { message: 'at most 128 characters' });

export const jobsQuerySchema = z
  .object({
    state: z.union([z.literal(''), jobStateSchema, z.literal('active'), z.literal('ended')]).default(''),
    name: filterText.default(''),
    node: filterText.default(''),
    schedule: filterText.default(''),
    page: z.coerce.number().int().min(0, { message: 'must be 0 or more' }).max(1_000_000).default(0),
    size: z.coerce.number().int().min(1, { message: 'must be 1 or more' }).max(WebLimits.pageSizeMax, { message: `at most ${WebLimits.pageSizeMax} jobs a page` }).default(50),
  })
  .strict();
export type JobsQuery = z.infer<typeof jobsQuerySchema>;

export const jobIdParamSchema = jobIdSchema;
export const nodeParamSchema = nodeNameSchema;

/**
 * A log stream's resume point (its Last-Event-ID): `<stage index>.<attempt>.<bytes held>` per
 * attempt, joined by `,`. The index keeps it short for a job of many stages.
 */
export const resumeIdSchema = z
  .string()
  .max(WebLimits.resumeIdMaxChars, { message: `a resume id is at most ${WebLimits.resumeIdMaxChars} characters` })
  .regex(/^(\d{1,3}\.\d{1,6}\.\d{1,15})(,\d{1,3}\.\d{1,6}\.\d{1,15})*$|^$/, { message: 'is not a log resume id (<stage>.<attempt>.<offset>,...)' });

/** Parses a resume id into `stageIndex/attempt -> offset`. */
export function parseResumeId(id: string): Map<string, { stage: number; attempt: number; offset: number }> {
  const out = new Map<string, { stage: number; attempt: number; offset: number }>();
  if (id === '') return out;
  for (const part of id.split(',')) {
    const [s, a, o] = part.split('.').map(Number) as [number, number, number];
    out.set(`${s}/${a}`, { stage: s, attempt: a, offset: o });
  }
  return out;
}

export function formatResumeId(held: Iterable<{ stage: number; attempt: number; offset: number }>): string {
  return [...held].map((h) => `${h.stage}.${h.attempt}.${h.offset}`).join(',');
}
