// The job file (YAML) and the submit payload: one schema, checked by the CLI before
// sending and again by the coordinator, so bad input is named at either door.
import { z } from 'zod';
import { durationSchema } from './duration-schema.js';
import { labelsSchema, nodeNameSchema, stageNameSchema } from './names.js';
import { Limits } from '../lib/limits.js';
import { secretNameSchema, secretSourceSchema } from './secrets.js';
import { NO_RESOURCES, type Resources } from './resources.js';
import { resourcesSchema, toResources } from './resources-schema.js';

const argvSchema = z
  .array(z.string({ error: 'expected an array of strings' }), { error: 'expected an array of strings' })
  .min(1, { message: 'must name a program: an empty command runs nothing' });

/** `failTolerance`: node attempts that may fail, as a count or a percentage of the targets ("10%"). */
const TOLERANCE_HINT = 'expected a whole number of nodes (0 or more) or a percentage of them such as "10%"';
export const failToleranceSchema = z.union(
  [
    z.number().int({ message: TOLERANCE_HINT }).min(0, { message: TOLERANCE_HINT }),
    z
      .string()
      .regex(/^\d{1,3}%$/, { message: TOLERANCE_HINT })
      .refine((p) => Number(p.slice(0, -1)) <= 100, { message: 'a percentage is 0% to 100%' }),
  ],
  { error: TOLERANCE_HINT },
);
export type FailTolerance = z.infer<typeof failToleranceSchema>;

const PARALLEL_HINT = 'expected a whole number of nodes, 1 or more';

export const placementSchema = z
  .strictObject({
    node: nodeNameSchema.optional(),
    labels: labelsSchema.optional(),
    /** Fan-out: one attempt on every ready node with the labels (fixed when the stage becomes runnable). */
    all: z.boolean().optional(),
    /** Fan-out: how many of its nodes run at once. @default all of them */
    maxParallel: z.number({ error: PARALLEL_HINT }).int({ message: PARALLEL_HINT }).min(1, { message: PARALLEL_HINT }).optional(),
    /** Fan-out: node attempts that may fail (failed, timeout, lost) while the stage still succeeds. @default 0 */
    failTolerance: failToleranceSchema.optional(),
  })
  .refine((o) => (o.node === undefined) !== (o.labels === undefined), {
    message: 'give exactly one of "node" or "labels"',
  })
  .superRefine((o, ctx) => {
    if (o.all && o.node !== undefined) ctx.addIssue({ code: 'custom', path: ['all'], message: 'all: true runs on every node with the labels: give "labels", not "node"' });
    if (!o.all) {
      for (const k of ['maxParallel', 'failTolerance'] as const) {
        if (o[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} belongs to a stage on all nodes: add "all: true" (with "labels")` });
      }
    }
  });
export type Placement = z.infer<typeof placementSchema>;

/** The stage runs on every node with its labels (`on: {labels: ..., all: true}`). */
export function isFanout(spec: StageSpec): boolean {
  return spec.on.all === true;
}

/** Failures (failed, timeout, lost) a fan-out over `targets` nodes tolerates: a percentage is of the targets, rounded down. */
export function toleratedFailures(t: FailTolerance | undefined, targets: number): number {
  if (t === undefined) return 0;
  if (typeof t === 'number') return t;
  return Math.floor((Number(t.slice(0, -1)) * targets) / 100);
}

export const playbookRunSchema = z.strictObject({
  playbook: z.string().min(1),
  inventory: z.string().min(1).optional(),
  extraVars: z.record(z.string(), z.unknown()).optional(),
  limit: z.string().min(1).optional(),
  tags: z.array(z.string()).optional(),
  check: z.boolean().optional(),
});

export const runSchema = z
  .strictObject({
    command: argvSchema.optional(),
    playbook: z.string().min(1).optional(),
    inventory: z.string().min(1).optional(),
    extraVars: z.record(z.string(), z.unknown()).optional(),
    limit: z.string().min(1).optional(),
    tags: z.array(z.string()).optional(),
    check: z.boolean().optional(),
  })
  .refine((r) => (r.command === undefined) !== (r.playbook === undefined), {
    message: 'give exactly one of "command" or "playbook"',
  })
  .refine((r) => r.command === undefined || Object.keys(r).length === 1, {
    message: 'inventory, extraVars, limit, tags and check belong to a playbook run',
  });
export type RunSpec = z.infer<typeof runSchema>;

export const failoverSchema = z.union(
  [z.enum(['reassign', 'fail']), z.strictObject({ wait: durationSchema })],
  { error: 'expected "reassign", "fail" or {wait: DURATION}' },
);
export type Failover = { mode: 'reassign' } | { mode: 'fail' } | { mode: 'wait'; waitMs: number };

export function resolveFailover(f: z.infer<typeof failoverSchema> | undefined): Failover {
  if (f === undefined || f === 'reassign') return { mode: 'reassign' };
  if (f === 'fail') return { mode: 'fail' };
  return { mode: 'wait', waitMs: f.wait };
}

/** Outcomes of an attempt that `retry: {on}` may name; a cancelled attempt is never retried. */
export const RETRY_OUTCOMES = ['failed', 'timeout', 'lost'] as const;
export type RetryOutcome = (typeof RETRY_OUTCOMES)[number];

/**
 * `retry: {attempts: 3, delay: 10s, on: [failed, timeout]}`: tries of the stage in one run, the
 * first included (as GitLab's `retry` and Buildkite's automatic retries: any failure kind unless `on`
 * narrows it). A failover reassign is not a try: it neither counts nor waits.
 */
export const retrySchema = z.strictObject({
  attempts: z
    .number({ error: 'expected a whole number of tries, the first included' })
    .int({ message: 'expected a whole number of tries, the first included' })
    .min(1, { message: 'at least 1 (the first try; 1 means no retry)' })
    .max(Limits.stageRetryAttemptsMax, { message: `at most ${Limits.stageRetryAttemptsMax} tries (limit stageRetryAttemptsMax)` }),
  delay: durationSchema
    .refine((ms) => ms <= Limits.stageRetryDelayMaxMs, { message: `at most ${Limits.stageRetryDelayMaxMs / 3_600_000}h (limit stageRetryDelayMaxMs)` })
    .optional(),
  on: z
    .array(z.enum(RETRY_OUTCOMES, { error: `expected one of ${RETRY_OUTCOMES.join(', ')} (a cancelled attempt is never retried)` }))
    .min(1, { message: 'name at least one outcome, or leave "on" out for all of failed, timeout, lost' })
    .refine((a) => new Set(a).size === a.length, { message: 'names an outcome twice' })
    .optional(),
});
export interface RetryPolicy {
  attempts: number;
  delayMs: number;
  on: readonly RetryOutcome[];
}

/** The stage's retry policy with its defaults (no `retry`: one try). */
export function resolveRetry(r: z.infer<typeof retrySchema> | undefined): RetryPolicy {
  return { attempts: r?.attempts ?? 1, delayMs: r?.delay ?? 0, on: r?.on ?? RETRY_OUTCOMES };
}

const envSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'environment variable names are letters, digits and "_"' }),
  z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v)),
).refine((env) => envBytes(env) <= Limits.stageEnvMaxBytes, { message: `env is larger than ${Limits.stageEnvMaxBytes} bytes (limit stageEnvMaxBytes)` });

/** Bytes of an environment's names and values together (UTF-8). */
export function envBytes(env: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(env)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  return n;
}

const globListSchema = z.array(
  z
    .string()
    .min(1)
    .refine((g) => !g.startsWith('/') && !g.split('/').includes('..'), { message: 'globs are relative to the run directory: no leading / and no ..' }),
);

export const stageSpecSchema = z.strictObject({
  name: stageNameSchema,
  on: placementSchema,
  run: runSchema,
  env: envSchema.optional(),
  timeout: durationSchema.optional(),
  failover: failoverSchema.optional(),
  needs: z.array(stageNameSchema).optional(),
  always: z.boolean().optional(),
  artifacts: globListSchema.optional(),
  /** Job secrets this stage's runs get, as environment variables (and playbook extra vars). */
  secrets: z.array(secretNameSchema).optional(),
  /** What the stage needs of its node, unallocated: `{cpu: 16, memory: 64G}`. It takes a slot too. */
  resources: resourcesSchema.optional(),
  /** Tries of the stage in one run when an attempt fails, times out or is lost (README "Retry and resume"). */
  retry: retrySchema.optional(),
});
export type StageSpec = z.infer<typeof stageSpecSchema>;

const requests = new WeakMap<object, Resources>();

/** The stage's request in millicpu and bytes (zeros without `resources`), parsed once per spec. */
export function stageRequest(spec: StageSpec): Resources {
  const r = spec.resources;
  if (r === undefined) return NO_RESOURCES;
  let out = requests.get(r);
  if (!out) requests.set(r, (out = toResources(r)));
  return out;
}

export const jobSpecSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    stages: z
      .array(stageSpecSchema)
      .min(1, { message: 'a job needs at least one stage' })
      .max(Limits.stagesMax, { message: `a job has at most ${Limits.stagesMax} stages (limit stagesMax)` }),
    prune: globListSchema.optional(),
    /** Secret name -> where the CLI reads its value at submit time (never the value). */
    secrets: z.record(secretNameSchema, secretSourceSchema).optional(),
  })
  .superRefine((job, ctx) => {
    job.stages.forEach((s, i) =>
      (s.secrets ?? []).forEach((n, j) => {
        if (!job.secrets?.[n]) ctx.addIssue({ code: 'custom', path: ['stages', i, 'secrets', j], message: `unknown secret "${n}" (declare it under the job's secrets:)` });
      }),
    );
    const seen = new Map<string, number>();
    job.stages.forEach((s, i) => {
      if (seen.has(s.name)) {
        ctx.addIssue({ code: 'custom', path: ['stages', i, 'name'], message: `duplicate stage name "${s.name}" (also stages[${seen.get(s.name)}])` });
      } else seen.set(s.name, i);
    });
    job.stages.forEach((s, i) => {
      (s.needs ?? []).forEach((n, j) => {
        if (!seen.has(n)) ctx.addIssue({ code: 'custom', path: ['stages', i, 'needs', j], message: `unknown stage "${n}"` });
        if (n === s.name) ctx.addIssue({ code: 'custom', path: ['stages', i, 'needs', j], message: `stage "${n}" cannot need itself` });
      });
    });
    job.stages.forEach((s, i) => {
      // a fan-out node's run is never moved to another node: there is nothing to wait for
      if (s.on.all && s.failover !== undefined && typeof s.failover === 'object') {
        ctx.addIssue({ code: 'custom', path: ['stages', i, 'failover'], message: 'failover: {wait} does not apply to a stage on all nodes (a node that goes down loses its share: "lost"); use "fail" or leave it out' });
      }
      // a retry policy tries the stage again; a fan-out's nodes are not retried one by one (README "Retry and resume")
      if (s.on.all && s.retry !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['stages', i, 'retry'],
          message: 'retry does not apply to a stage on all nodes (its nodes are not retried one by one): use failTolerance for nodes that may fail, or meshrun retry JOB to run the stage on all its nodes again',
        });
      }
    });
    if (seen.size !== job.stages.length) return; // names are ambiguous: no graph to check
    const cycle = findCycle(job.stages);
    if (cycle) ctx.addIssue({ code: 'custom', path: ['stages'], message: `dependency cycle: ${cycle.join(' -> ')}` });
  });
export type JobSpec = z.infer<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;

/**
 * The stages each stage waits for. Without `needs`, a stage waits for the one
 * before it (file order); an `always` stage with no `needs` waits for all before it.
 */
export function dependenciesOf(stages: readonly StageSpec[]): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  stages.forEach((s, i) => {
    if (s.needs) deps.set(s.name, [...s.needs]);
    else if (i === 0) deps.set(s.name, []);
    else if (s.always) deps.set(s.name, stages.slice(0, i).map((x) => x.name));
    else deps.set(s.name, [stages[i - 1]!.name]);
  });
  return deps;
}

function findCycle(stages: readonly StageSpec[]): string[] | undefined {
  const names = new Set(stages.map((s) => s.name));
  const deps = dependenciesOf(stages);
  const colour = new Map<string, 'grey' | 'black'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (colour.get(n) === 'black') return undefined;
    if (colour.get(n) === 'grey') return [...stack.slice(stack.indexOf(n)), n];
    colour.set(n, 'grey');
    stack.push(n);
    for (const d of deps.get(n) ?? []) {
      if (!names.has(d)) continue;
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    colour.set(n, 'black');
    return undefined;
  };
  for (const s of stages) {
    const c = visit(s.name);
    if (c) return c;
  }
  return undefined;
}
