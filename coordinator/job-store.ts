// The coordinator's jobs: held in memory, loaded from and written to JetStream KV. A
// write happens only when the record changed (compared without its revision), and every
// write is announced on `changes` for followers (gRPC watch and logs streams). Every write is
// a compare-and-set on the entry's KV revision as this coordinator last wrote or read it: a
// refused one means another coordinator wrote the job since (it leads now), and this one must
// stop (`onConflict`), never overwrite.
import { EventEmitter } from 'node:events';
import type { KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { decode } from '../proto/decode.js';
import { jobRecordSchema, type JobRecord } from '../proto/records.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { isWrongRevision } from './leadership.js';

export class JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  /** The record as last written, without its revision: a write of the same content is skipped. */
  private readonly written = new Map<string, string>();
  /** The KV revision of each job's entry as this coordinator last wrote or read it. */
  private readonly kvRev = new Map<string, number>();
  /** Emits 'job' (JobRecord) after every persisted change. */
  readonly changes = new EventEmitter();

  constructor(
    private readonly kv: () => KV,
    private readonly log: Logger,
    /** A write was refused because another coordinator wrote the job since. */
    private readonly onConflict: (job: string) => void = () => undefined,
    /** Before every write: throws when this coordinator may not write (it is not sure it leads). */
    private readonly mayWrite: () => void = () => undefined,
  ) {
    this.changes.setMaxListeners(0);
  }

  /** Reads every record of these keys (kvKeys); a damaged one is reported and skipped, never fatal. */
  async load(keys: string[]): Promise<number> {
    const kv = this.kv();
    for (const key of keys) {
      const e = await kv.get(key);
      if (!e || e.operation !== 'PUT') continue;
      const r = decode(jobRecordSchema, e.string());
      if (!r.ok) {
        this.log.warn('damaged job record skipped', { key, errors: r.errors });
        continue;
      }
      this.jobs.set(r.value.id, r.value);
      this.written.set(r.value.id, JSON.stringify({ ...r.value, revision: 0 }));
      this.kvRev.set(r.value.id, e.revision);
    }
    return this.jobs.size;
  }

  get(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  /**
   * Writes a new job's first record. It is held (and visible to readers) only once the bucket
   * acknowledged it, so a failed write leaves nothing behind. When a record of that id is stored
   * already (an earlier write that timed out but landed), that record is held and returned.
   */
  async create(job: JobRecord): Promise<JobRecord> {
    this.mayWrite();
    job.revision = 1;
    let seq: number;
    try {
      seq = await this.kv().create(job.id, JSON.stringify(job));
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || (err.code !== JetStreamApiCodes.StreamWrongLastSequence && err.code !== JetStreamApiCodes.StreamWrongLastSequenceUnknown)) throw err;
      const e = await this.kv().get(job.id);
      const r = e && e.operation === 'PUT' ? decode(jobRecordSchema, e.string()) : undefined;
      if (!r?.ok || !e) throw err;
      this.hold(r.value, e.revision);
      return r.value;
    }
    this.hold(job, seq);
    this.changes.emit('job', job);
    return job;
  }

  private hold(job: JobRecord, kvRev: number): void {
    this.jobs.set(job.id, job);
    this.written.set(job.id, JSON.stringify({ ...job, revision: 0 }));
    this.kvRev.set(job.id, kvRev);
  }

  values(): IterableIterator<JobRecord> {
    return this.jobs.values();
  }

  /** Every job, oldest submission first. */
  list(): JobRecord[] {
    return [...this.jobs.values()].sort((a, b) => a.submittedAt - b.submittedAt);
  }

  /** Jobs that have not ended, oldest submission first. */
  active(): JobRecord[] {
    return this.list().filter((j) => j.endedAt === null);
  }

  /**
   * Removes an ended job for good (retention): its KV entry with its history, then from
   * memory. A write of it still in flight is dropped by `persist`.
   */
  async delete(id: string): Promise<void> {
    this.mayWrite();
    await this.kv().purge(id);
    this.jobs.delete(id);
    this.written.delete(id);
    this.kvRev.delete(id);
  }

  /** Writes the job to KV if it changed since the last write (compared without its revision). */
  async persist(job: JobRecord): Promise<void> {
    const rev = job.revision;
    job.revision = 0;
    const key = JSON.stringify(job);
    job.revision = rev;
    if (this.written.get(job.id) === key) return;
    // removed by retention meanwhile: it must not come back
    if (this.jobs.get(job.id) !== job) return;
    this.mayWrite();
    job.revision += 1;
    try {
      this.kvRev.set(job.id, await this.kv().update(job.id, JSON.stringify(job), this.kvRev.get(job.id) ?? 0));
    } catch (err) {
      job.revision -= 1;
      if (!isWrongRevision(err)) throw err;
      this.log.error('job write refused: another coordinator wrote it since', { job: job.id });
      this.onConflict(job.id);
      throw new MeshrunError(ErrorCode.Conflict, `job ${job.id} was written by another coordinator (this one no longer leads)`);
    }
    this.written.set(job.id, key);
    this.changes.emit('job', job);
  }
}
