// Seeds a job store cheaply for start-up measurements: `n` finished jobs written straight into
// the buckets as a coordinator leaves them (the record in mr_jobs, its entry in mr_job_index),
// many writes in flight at once instead of one awaited put at a time. Without the index entries
// it is a store written by an older meshrun (the coordinator indexes it on its first start).
import type { NatsConnection } from '@nats-io/transport-node';
import { openKv } from '../lib/nats.js';
import { newAttempt, newJobRecord } from '../coordinator/job-machine.js';
import { indexEntryOf } from '../coordinator/job-index.js';
import { jobSpecSchema } from '../proto/job-spec.js';
import type { JobRecord } from '../proto/records.js';
import { Buckets } from '../proto/subjects.js';

export interface SeedOptions {
  /** Ids are `${prefix}${i}` (zero-padded). @default 'seed-' */
  prefix?: string;
  /** Writes in flight at once. @default 512 */
  inFlight?: number;
  /** The oldest job ended this long before now; the others evenly after it. @default 1 h */
  spanMs?: number;
  /** Write the job index entries too (false: a store from before the index). @default true */
  index?: boolean;
  /** Called now and then with how many are written. */
  progress?: (written: number) => void;
}

/** An ended job of one succeeded stage on `node`, as the coordinator records it. */
export function endedJobRecord(id: string, endedAt: number, node = 'seed-node'): JobRecord {
  const spec = jobSpecSchema.parse({ name: 'seeded', stages: [{ name: 'run', on: { node }, run: { command: ['sh', '-c', 'echo seeded'] } }] });
  const job = newJobRecord(id, spec, endedAt - 2000, null);
  const a = { ...newAttempt(1, node, endedAt - 2000), state: 'succeeded' as const, exitCode: 0, startedAt: endedAt - 1900, endedAt, logBytes: 7 };
  job.stages[0] = { ...job.stages[0]!, state: 'succeeded', attempts: [a] };
  job.state = 'succeeded';
  job.exitCode = 0;
  job.startedAt = endedAt - 1900;
  job.endedAt = endedAt;
  job.revision = 3;
  return job;
}

/** Writes `n` ended jobs, oldest first; resolves with their ids. */
export async function seedJobs(nc: NatsConnection, n: number, o: SeedOptions = {}): Promise<string[]> {
  const prefix = o.prefix ?? 'seed-';
  const inFlight = o.inFlight ?? 512;
  const span = o.spanMs ?? 3_600_000;
  const kv = await openKv(nc, Buckets.jobs);
  const index = o.index === false ? undefined : await openKv(nc, Buckets.jobIndex);
  const now = Date.now();
  const width = String(n).length;
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(width, '0')}`);
  let next = 0;
  let written = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const job = endedJobRecord(ids[i]!, now - span + Math.floor((i * span) / n));
      await kv.put(job.id, JSON.stringify(job));
      await index?.put(job.id, JSON.stringify(indexEntryOf(job, true)));
      if (++written % 10_000 === 0) o.progress?.(written);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  return ids;
}
