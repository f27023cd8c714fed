// Secrets of a job: named values the submitting user supplies at submit time (from its own
// environment or a file, never written in the job file), sent once over TLS, kept encrypted by
// the coordinator and handed, sealed to a one-time key, only to the node running an attempt of
// a stage that names them. Names and limits live here; where a value comes from is the CLI's.
import { z } from 'zod';

export const SECRET_LIMITS = {
  /** Secrets one job may carry. */
  maxPerJob: 64,
  /** Bytes of one secret value. */
  maxValueBytes: 16 * 1024,
  /** Bytes of all of a job's secret values together. */
  maxTotalBytes: 64 * 1024,
} as const;

/** Names become environment variables of the run: no names the loader or meshrun itself reads. */
export const secretNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { message: 'secret names are letters, digits and "_" (an environment variable name)' })
  .refine((n) => !/^(PATH|HOME|SHELL|IFS|ENV|BASH_ENV|LD_.*|MESHRUN_.*|ANSIBLE_.*|PYTHON.*|NODE_OPTIONS)$/i.test(n), {
    message: 'this name would change how the run or its tools start (PATH, LD_*, MESHRUN_*, ANSIBLE_*, PYTHON*, ...): pick another',
  });

/** Where the CLI reads a secret's value at submit time. */
export const secretSourceSchema = z.union(
  [z.strictObject({ env: z.string().min(1).max(256) }), z.strictObject({ file: z.string().min(1).max(4096) })],
  { error: 'expected {env: VARIABLE} or {file: PATH}: the value itself never goes in the job file' },
);
export type SecretSource = z.infer<typeof secretSourceSchema>;

/** The values a submit carries, checked against what the spec declares. */
export const secretValuesSchema = z
  .record(secretNameSchema, z.string().max(SECRET_LIMITS.maxValueBytes, { message: `a secret value may be at most ${SECRET_LIMITS.maxValueBytes} bytes` }))
  .refine((v) => Object.keys(v).length <= SECRET_LIMITS.maxPerJob, { message: `a job may carry at most ${SECRET_LIMITS.maxPerJob} secrets` })
  .refine((v) => Object.values(v).reduce((n, s) => n + Buffer.byteLength(s), 0) <= SECRET_LIMITS.maxTotalBytes, {
    message: `a job's secrets may total at most ${SECRET_LIMITS.maxTotalBytes} bytes`,
  });
export type SecretValues = z.infer<typeof secretValuesSchema>;
