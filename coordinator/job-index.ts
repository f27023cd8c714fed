// The job index (KV bucket mr_job_index): one small entry per job, read at start-up in one
// stream instead of every full record. Written in the background, a bounded number at once,
// the latest change per job winning; a write that fails is logged and left to the next start,
// which reconciles the index with the records (job-store.ts).
import type { JobIndexEntry, JobRecord } from '../proto/records.js';
import type { Logger } from '../lib/log.js';

/** What the coordinator keeps in memory of every stored job (the record itself only while it is held). */
export interface JobSummary {
  readonly id: string;
  readonly submittedAt: number;
  /** Set when the job ends (JobStore.reopen replaces the summary of a job retried). */
  endedAt: number | null;
  readonly workspace: string | null;
  /** The record's KV revision as this coordinator last wrote it once it was finished (0: not known). */
  rev: number;
}

export function summaryOf(job: JobRecord, workspace: string | null = job.workspace): JobSummary {
  return { id: job.id, submittedAt: job.submittedAt, endedAt: job.endedAt, workspace, rev: 0 };
}

/** The job's index entry: `endedAt` stays null until the job has finished (the record says more meanwhile). */
export function indexEntryOf(job: JobRecord, finished: boolean): JobIndexEntry {
  return { name: job.name, state: job.state, submittedAt: job.submittedAt, endedAt: finished ? job.endedAt : null, workspace: job.workspace };
}

export interface IndexBucket {
  put(id: string, entry: JobIndexEntry): Promise<void>;
  /** Removes the entry without leaving a marker behind (the entry count is the job count). */
  purge(id: string): Promise<void>;
}

type Op = { put: JobIndexEntry } | { purge: true };

export class JobIndexWriter {
  /** Waiting writes, one per job (a newer one replaces it). */
  private readonly waiting = new Map<string, Op>();
  private readonly inFlight = new Set<string>();
  private idlers: (() => void)[] = [];
  /** Per job: who waits for its writes queued so far (`written`). */
  private readonly waiters = new Map<string, (() => void)[]>();

  constructor(
    private readonly bucket: IndexBucket,
    /** Throws when this coordinator may not write (it is not sure it leads): the write is dropped. */
    private readonly mayWrite: () => void,
    private readonly log: Logger,
    private readonly concurrency = 32,
  ) {}

  get pending(): number {
    return this.waiting.size + this.inFlight.size;
  }

  put(id: string, entry: JobIndexEntry): void {
    this.queue(id, { put: entry });
  }

  purge(id: string): void {
    this.queue(id, { purge: true });
  }

  /** Resolves once every write queued so far is done (or given up). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idlers.push(r));
  }

  /** Resolves once every write of `id` queued so far is done (or given up). */
  written(id: string): Promise<void> {
    if (!this.waiting.has(id) && !this.inFlight.has(id)) return Promise.resolve();
    return new Promise((r) => this.waiters.set(id, [...(this.waiters.get(id) ?? []), r]));
  }

  private queue(id: string, op: Op): void {
    this.waiting.delete(id);
    this.waiting.set(id, op);
    this.pump();
  }

  private pump(): void {
    for (const [id, op] of this.waiting) {
      if (this.inFlight.size >= this.concurrency) return;
      // one write per job at a time, in order: a later one waits for the one in flight
      if (this.inFlight.has(id)) continue;
      this.waiting.delete(id);
      this.inFlight.add(id);
      void this.write(id, op).finally(() => {
        this.inFlight.delete(id);
        if (!this.waiting.has(id)) {
          for (const r of this.waiters.get(id) ?? []) r();
          this.waiters.delete(id);
        }
        this.pump();
        if (this.pending === 0) for (const r of this.idlers.splice(0)) r();
      });
    }
  }

  private async write(id: string, op: Op): Promise<void> {
    try {
      this.mayWrite();
      if ('put' in op) await this.bucket.put(id, op.put);
      else await this.bucket.purge(id);
    } catch (err) {
      this.log.warn('job index entry not written; the next start reconciles the index with the job records', { job: id, err });
    }
  }
}
