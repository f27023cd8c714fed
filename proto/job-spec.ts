// The job file (YAML) and the submit payload: one schema, checked by the CLI before
// sending and again by the coordinator, so bad input is named at either door.
import { z } from 'zod';
import { durationSchema } from './duration-schema.js';
import { labelsSchema, nodeNameSchema, stageNameSchema } from './names.js';
import { Limits } from '../lib/limits.js';
import { secretNameSchema, secretSourceSchema } from './secrets.js';

const argvSchema = z
  .array(z.string({ error: 'expected an array of strings' }), { error: 'expected an array of strings' })
  .min(1, { message: 'must name a program: an empty command runs nothing' });

export const placementSchema = z
  .strictObject({
    node: nodeNameSchema.optional(),
    labels: labelsSchema.optional(),
  })
  .refine((o) => (o.node === undefined) !== (o.labels === undefined), {
    message: 'give exactly one of "node" or "labels"',
  });
export type Placement = z.infer<typeof placementSchema>;

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
});
export type StageSpec = z.infer<typeof stageSpecSchema>;

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
