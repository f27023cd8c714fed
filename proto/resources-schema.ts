// The `{cpu, memory}` of job files (a stage's `resources`) and agent configs (`reserve`,
// `capacity`), and the wire form of heartbeats and node records: millicpu and bytes.
import { z } from 'zod';
import { Limits } from '../lib/limits.js';
import { cpuToMilli, formatMemory, MEMORY_HINT, parseMemory, type Resources } from './resources.js';

const cpuSchema = z
  .number({ error: 'expected a number of CPUs, like 2 or 0.5' })
  .positive({ message: 'must be more than 0' })
  .max(Limits.resourceCpuMax, { message: `must be at most ${Limits.resourceCpuMax} (limit resourceCpuMax)` })
  .refine((c) => Math.abs(c * 1000 - Math.round(c * 1000)) < 1e-6, { message: 'at most three decimals (0.001 cpu is the smallest step)' });

const memorySchema = z.string({ error: MEMORY_HINT }).superRefine((s, ctx) => {
  const bytes = parseMemory(s);
  if (bytes === undefined) ctx.addIssue({ code: 'custom', message: `${MEMORY_HINT}, got ${JSON.stringify(s)}` });
  else if (bytes < 1) ctx.addIssue({ code: 'custom', message: 'must be more than 0' });
  else if (bytes > Limits.resourceMemoryMaxBytes) ctx.addIssue({ code: 'custom', message: `must be at most ${formatMemory(Limits.resourceMemoryMaxBytes)} (limit resourceMemoryMaxBytes)` });
});

/**
 * `{cpu: 16, memory: 64G}` as written in a job file (a stage's `resources`) or an agent's config
 * (`reserve`, `capacity`). Validated, not transformed: the stored job record keeps what the user
 * wrote and parses the same way however often it is read again; `toResources` converts.
 */
export const resourcesSchema = z
  .strictObject({ cpu: cpuSchema.optional(), memory: memorySchema.optional() })
  .refine((r) => r.cpu !== undefined || r.memory !== undefined, { message: 'give cpu, memory or both' });
export type ResourcesSpec = z.infer<typeof resourcesSchema>;

/** A validated `{cpu, memory}` as millicpu and bytes (0 for what it leaves out). */
export function toResources(r: ResourcesSpec): Resources {
  return { cpu: r.cpu === undefined ? 0 : cpuToMilli(r.cpu), memory: r.memory === undefined ? 0 : parseMemory(r.memory)! };
}

/** Parses `cpu=2,memory=4G` (the agent's --reserve) into the config shape; throws naming the bad part. */
export function parseResourceList(spec: string): ResourcesSpec {
  const out: Record<string, unknown> = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const i = part.indexOf('=');
    const key = i > 0 ? part.slice(0, i).trim() : '';
    if (key !== 'cpu' && key !== 'memory') throw new Error(`"${part}" is not cpu=N or memory=SIZE`);
    const value = part.slice(i + 1).trim();
    out[key] = key === 'cpu' ? (value === '' ? NaN : Number(value)) : value;
  }
  const r = resourcesSchema.safeParse(out);
  if (!r.success) throw new Error(r.error.issues.map((x) => `${x.path.length ? `${x.path.join('.')}: ` : ''}${x.message}`).join('; '));
  return r.data;
}

/** Wire form (heartbeats, node records): millicpu and bytes. */
export const resourcesWireSchema = z.object({
  cpu: z.number().int().min(0).max(Limits.resourceCpuMax * 1000),
  memory: z.number().int().min(0).max(Limits.resourceMemoryMaxBytes),
});

