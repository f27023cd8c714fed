// The coordinator's jobs: every record in JetStream KV (mr_jobs), in memory only those it acts
// on. Every write is a compare-and-set on the entry's KV revision as this coordinator last wrote
// or read it: a refused one means another coordinator wrote the job since (it leads now), and
// this one must stop (`onConflict`), never overwrite. A write happens only when the record
// changed (compared without its revision), and is announced on `changes` for followers.
//
// Bounded memory and start-up (issue 12):
// - A job is *held* (its whole record in memory) while it has not ended, or while a node is
//   still owed something for it (a prune, a handoff marker): the work the coordinator acts on.
//   Once *finished* its record leaves memory; what stays is a summary of about 150 bytes (id,
//   submission and end times, workspace) in two orders kept as jobs come (job-order.ts): by
//   submission for listing, by end for retention. Neither ever sorts every job.
// - A finished job's record is read from KV when asked for (`get`) and kept in a small cache
//   (256 records, 32 MiB), so a client polling one does not read the store each time.
// - mr_job_index holds one small entry per job (job-index.ts): written in the background when
//   the job is created (ended: null) and once when it has finished, never on the submit path nor
//   on the updates in between. A finished job's entry never changes again, so a late writer
//   cannot make it wrong - unless `meshrun retry` reopens the job (`reopen`): then it says
//   "not ended" again until the new run has finished. Start-up reads the index in one ordered stream read, then only the
//   records of jobs whose entry is not finished (in parallel, a bounded number at once; many in
//   one stream read): two seconds, not minutes, at 100,000 jobs.
// - Records and entries are removed with a stream purge (no marker left), so each bucket holds
//   exactly one message per job. When the counts differ, an entry write was lost (a crash between
//   a record's write and its entry's) or a removal was cut short: start-up then reads the keys of
//   mr_jobs (headers only, one stream read) and reconciles: a record without an entry is read and
//   indexed, an entry without a record is removed, an entry that says "not ended" of a record that
//   has finished is fixed. An empty index over a non-empty mr_jobs is the one-time migration of a
//   store written by an older meshrun: every record is read in one stream and indexed (logged,
//   with how long it took).
import { EventEmitter } from 'node:events';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { decode } from '../proto/decode.js';
import { jobIndexEntrySchema, jobRecordSchema, type JobRecord } from '../proto/records.js';
import { Buckets } from '../proto/subjects.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import { readKv } from '../lib/kv-read.js';
import type { Logger } from '../lib/log.js';
import { mapBounded } from '../lib/map-bounded.js';
import { isWrongRevision } from './leadership.js';
import { prunesDue } from './job-machine.js';
import { indexEntryOf, JobIndexWriter, summaryOf, type JobSummary } from './job-index.js';
import { RecentCache, SortedList } from './job-order.js';

export interface JobStoreOptions {
  kv: () => KV;
  /** The job index bucket (mr_job_index). */
  index: () => KV;
  /** For the streamed reads at start-up. */
  nc: () => NatsConnection;
  log: Logger;
  /** A write was refused because another coordinator wrote the job since. */
  onConflict?: (job: string) => void;
  /** Before every write: throws when this coordinator may not write (it is not sure it leads). */
  mayWrite?: () => void;
  /** Finished records kept after use. @default 256 */
  cacheRecords?: number;
  /** ... and their JSON bytes together. @default 32 MiB */
  cacheBytes?: number;
}

/** Records read from KV at once (start-up, a page of ListJobs). */
const READ_CONCURRENCY = 32;
/** More records than this to read at start-up: one stream read of mr_jobs instead of a get each. */
const STREAM_READ_OVER = 500;

/** The record as last written or read, without its revision (a write of the same content is skipped), and where. */
interface Stored {
  written: string;
  rev: number;
  summary: JobSummary;
}

type Read = { job: JobRecord; rev: number } | 'missing' | 'damaged';

function storedOf(job: JobRecord, rev: number, summary: JobSummary): Stored {
  return { written: JSON.stringify({ ...job, revision: 0 }), rev, summary };
}

/** Held in memory: not ended, or a node is still owed a prune or a handoff marker for it. */
export function isHeld(job: JobRecord): boolean {
  return job.endedAt === null || prunesDue(job).length > 0 || job.handoffs.some((h) => !h.acked);
}

export interface LoadStats {
  jobs: number;
  held: number;
  ms: number;
}

export class JobStore {
  private readonly summaries = new Map<string, JobSummary>();
  private bySubmit = new SortedList<JobSummary>((s) => s.submittedAt);
  private byEnd = new SortedList<JobSummary>((s) => s.endedAt!);
  /** Held records, in submission order. */
  private readonly held = new Map<string, JobRecord>();
  private readonly recent: RecentCache<string, JobRecord>;
  private readonly stored = new WeakMap<JobRecord, Stored>();
  private readonly reading = new Map<string, Promise<JobRecord | undefined>>();
  /** Stored workspaces named by jobs: how many name each (the key string is shared by their summaries). */
  private readonly workspaces = new Map<string, { sha: string; users: number }>();
  private readonly index: JobIndexWriter;
  private readonly onConflict: (job: string) => void;
  private readonly mayWrite: () => void;
  /** Emits 'job' (JobRecord) after every persisted change. */
  readonly changes = new EventEmitter();

  constructor(private readonly o: JobStoreOptions) {
    this.changes.setMaxListeners(0);
    this.onConflict = o.onConflict ?? (() => undefined);
    this.mayWrite = o.mayWrite ?? (() => undefined);
    this.recent = new RecentCache(o.cacheRecords ?? 256, o.cacheBytes ?? 32 * 1024 * 1024);
    this.index = new JobIndexWriter(
      {
        put: async (id, entry) => void (await this.o.index().put(id, JSON.stringify(entry))),
        purge: (id) => purgeKey(this.o.nc(), Buckets.jobIndex, id),
      },
      this.mayWrite,
      o.log,
    );
  }

  private get kv(): KV {
    return this.o.kv();
  }

  /**
   * Reads the index, the records of jobs not finished, and reconciles the index with mr_jobs when
   * their counts differ. A damaged record is reported and skipped, never fatal.
   */
  async load(): Promise<LoadStats> {
    const t0 = Date.now();
    const log = this.o.log;
    const jsm = await jetstreamManager(this.o.nc());
    // one message per key in each (no history, removals leave no marker): the counts compare
    const [recordCount = 0, entryCount = 0] = await Promise.all([Buckets.jobs, Buckets.jobIndex].map(async (b) => (await jsm.streams.info(streamOf(b))).state.messages));
    // id -> summary of a finished job, or null: the record is to be read (not finished, or a damaged entry)
    const known = new Map<string, JobSummary | null>();
    let damagedEntries = 0;
    if (entryCount > 0) {
      await readKv(this.o.nc(), Buckets.jobIndex, (e) => {
        const r = decode(jobIndexEntrySchema, e.data);
        if (!r.ok) damagedEntries++;
        const v = r.ok ? r.value : undefined;
        known.set(e.key, v && v.endedAt !== null ? { id: e.key, submittedAt: v.submittedAt, endedAt: v.endedAt, workspace: this.intern(v.workspace), rev: 0 } : null);
      });
    }
    if (damagedEntries > 0) log.warn('damaged job index entries: their records are read and indexed again', { entries: damagedEntries });
    const migrating = known.size === 0 && recordCount > 0;
    let unindexed: string[] = [];
    let orphans = 0;
    if (migrating) {
      log.info('the job index is empty: building it from the job records (a one-time migration from an older meshrun)', { records: recordCount });
    } else if (recordCount !== entryCount) {
      const keys = new Set<string>();
      await readKv(this.o.nc(), Buckets.jobs, (e) => keys.add(e.key), { headersOnly: true });
      unindexed = [...keys].filter((id) => !known.has(id));
      for (const id of known.keys()) {
        if (keys.has(id)) continue;
        known.delete(id);
        this.index.purge(id);
        orphans++;
      }
      log.info('job index reconciled with the job records', { records: keys.size, entries: entryCount, unindexed: unindexed.length, orphans });
    }
    const tScan = Date.now();
    const toRead = migrating ? 'all' : [...[...known].filter(([, s]) => s === null).map(([id]) => id), ...unindexed];
    const held: { job: JobRecord; stored: Stored }[] = [];
    const damaged = new Set<string>();
    let indexed = 0;
    let recordsRead = 0;
    // each record as it comes: a finished one is not kept (a migration reads every record)
    await this.readMany(toRead, (id, r) => {
      if (r === 'damaged') damaged.add(id);
      if (typeof r !== 'object') return;
      recordsRead++;
      const hadEntry = known.has(id);
      const s = summaryOf(r.job, this.intern(r.job.workspace));
      known.set(id, s);
      if (isHeld(r.job)) {
        held.push({ job: r.job, stored: storedOf(r.job, r.rev, s) });
        if (!hadEntry) this.index.put(id, indexEntryOf(r.job, false));
      } else {
        // finished: its entry says so from now on (a store from before the index, or an entry left "not ended")
        s.rev = r.rev;
        this.index.put(id, indexEntryOf(r.job, true));
      }
      if (!hadEntry || !isHeld(r.job)) indexed++;
    });
    // entries of records that are gone (a damaged one keeps its entry: it is reported at each start)
    for (const [id, s] of known) {
      if (s !== null) continue;
      known.delete(id);
      if (!damaged.has(id)) {
        this.index.purge(id);
        orphans++;
      }
    }
    const summaries = [...known.values()] as JobSummary[];
    known.clear();
    this.bySubmit = SortedList.from(summaries, (s) => s.submittedAt);
    this.byEnd = SortedList.from(
      summaries.filter((s) => s.endedAt !== null),
      (s) => s.endedAt!,
    );
    for (const s of summaries) {
      this.summaries.set(s.id, s);
      if (s.workspace) this.workspaces.get(s.workspace)!.users++;
    }
    held.sort((a, b) => a.job.submittedAt - b.job.submittedAt);
    for (const h of held) {
      this.held.set(h.job.id, h.job);
      this.stored.set(h.job, h.stored);
    }
    // interned while reading but named by no job kept
    for (const [sha, w] of this.workspaces) if (w.users === 0) this.workspaces.delete(sha);
    const ms = Date.now() - t0;
    if (migrating) void this.index.idle().then(() => log.info('job index built: one-time migration done', { jobs: indexed, ms: Date.now() - t0 }));
    else if (indexed > 0 || orphans > 0) log.info('job index entries written or removed to match the records', { indexed, orphans });
    log.info('jobs loaded', { jobs: summaries.length, held: held.length, recordsRead, scanMs: tScan - t0, ms });
    return { jobs: summaries.length, held: held.length, ms };
  }

  /** Reads the records of `ids` (or every one) a few at a time or, when many, in one stream read; `each` gets each as it comes. */
  private async readMany(ids: string[] | 'all', each: (id: string, r: Read) => void): Promise<void> {
    if (ids !== 'all' && ids.length <= STREAM_READ_OVER) {
      await mapBounded(ids, READ_CONCURRENCY, async (id) => each(id, await this.readRecord(id)));
      return;
    }
    const want = ids === 'all' ? undefined : new Set(ids);
    const text = new TextDecoder();
    await readKv(this.o.nc(), Buckets.jobs, (e) => {
      if (!want || want.has(e.key)) each(e.key, this.decodeRecord(e.key, text.decode(e.data), e.revision));
    });
  }

  private async readRecord(id: string): Promise<Read> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') return 'missing';
    return this.decodeRecord(id, e.string(), e.revision);
  }

  private decodeRecord(key: string, text: string, rev: number): Read {
    const r = decode(jobRecordSchema, text);
    if (!r.ok || r.value.id !== key) {
      this.o.log.warn('damaged job record skipped', { key, errors: r.ok ? ['id is not the key'] : r.errors });
      return 'damaged';
    }
    return { job: r.value, rev };
  }

  /** One shared string per workspace named (100,000 jobs of one workspace hold it once). */
  private intern(sha: string | null): string | null {
    if (sha === null) return null;
    let w = this.workspaces.get(sha);
    if (!w) this.workspaces.set(sha, (w = { sha, users: 0 }));
    return w.sha;
  }

  // ---- reads ----

  /** Whether a job of this id is stored. */
  has(id: string): boolean {
    return this.summaries.has(id);
  }

  /** The job's record if it is in memory: held, or finished and read lately. Never reads KV. */
  peek(id: string): JobRecord | undefined {
    return this.held.get(id) ?? this.recent.get(id);
  }

  /** Not ended (its record is held). */
  isActive(id: string): boolean {
    return this.held.get(id)?.endedAt === null;
  }

  /**
   * The job's record: from memory, or a finished one read from KV (and kept among the recent
   * ones unless `cache` is false: a page of a listing must not push out what clients poll).
   */
  async get(id: string, o: { cache?: boolean } = {}): Promise<JobRecord | undefined> {
    const inMemory = this.peek(id);
    if (inMemory) return inMemory;
    const s = this.summaries.get(id);
    if (!s) return undefined;
    let p = this.reading.get(id);
    if (!p) {
      p = this.readFinished(s, o.cache ?? true).finally(() => this.reading.delete(id));
      this.reading.set(id, p);
    }
    return p;
  }

  private async readFinished(s: JobSummary, cache: boolean): Promise<JobRecord | undefined> {
    for (;;) {
      const r = await this.readRecord(s.id);
      if (this.summaries.get(s.id) !== s) return undefined; // removed meanwhile
      // written by this coordinator meanwhile: that object is the current one
      const current = this.recent.get(s.id);
      if (current) return current;
      if (r === 'damaged') throw new MeshrunError(ErrorCode.Internal, `the stored record of job ${s.id} is damaged (the coordinator's log names the fields)`);
      if (r === 'missing') {
        this.o.log.warn('job index entry without a record removed', { job: s.id });
        this.forget(s);
        this.index.purge(s.id);
        return undefined;
      }
      // a read that started before this coordinator's last write of it: read again
      if (r.rev < s.rev) continue;
      const st = storedOf(r.job, r.rev, s);
      this.stored.set(r.job, st);
      if (cache) this.recent.set(s.id, r.job, st.written.length);
      return r.job;
    }
  }

  /** Held records (not ended, or owed to a node), oldest submission first. */
  heldJobs(): IterableIterator<JobRecord> {
    return this.held.values();
  }

  /** Jobs that have not ended, oldest submission first. */
  active(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const j of this.held.values()) if (j.endedAt === null) out.push(j);
    return out;
  }

  /** Ids of the newest `limit` jobs by submission, newest first, and whether older ones exist. */
  newest(limit: number): { ids: string[]; more: boolean } {
    const r = this.bySubmit.newest(limit);
    return { ids: r.items.map((s) => s.id), more: r.more };
  }

  /** When the job was submitted (orders a listing), if it is stored. */
  submittedAt(id: string): number | undefined {
    return this.summaries.get(id)?.submittedAt;
  }

  /** Records of `ids` that still exist, in the order given; finished ones are read a few at a time and not cached. */
  async records(ids: readonly string[]): Promise<JobRecord[]> {
    const got = await mapBounded(ids, READ_CONCURRENCY, (id) => this.get(id, { cache: false }).catch(() => undefined));
    return got.filter((j): j is JobRecord => j !== undefined);
  }

  /** Ended jobs (held or finished), oldest end first; walk it without awaiting in between. */
  ended(): { count: number; oldestFirst: Iterable<JobSummary> } {
    return { count: this.byEnd.size, oldestFirst: this.byEnd.ascending() };
  }

  /** Nodes are still owed a prune of this ended job (it is held for that). */
  owesPrune(id: string): boolean {
    const j = this.held.get(id);
    return j !== undefined && prunesDue(j).length > 0;
  }

  /** Jobs naming this workspace, not counting those in `except`. */
  workspaceUsers(sha: string, except: ReadonlySet<string> = new Set()): number {
    let n = this.workspaces.get(sha)?.users ?? 0;
    for (const id of except) if (this.summaries.get(id)?.workspace === sha) n--;
    return n;
  }

  /** Every workspace some stored job names. */
  workspacesInUse(): IterableIterator<string> {
    return this.workspaces.keys();
  }

  get size(): number {
    return this.summaries.size;
  }

  get heldCount(): number {
    return this.held.size;
  }

  // ---- writes ----

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
      seq = await this.kv.create(job.id, JSON.stringify(job));
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || (err.code !== JetStreamApiCodes.StreamWrongLastSequence && err.code !== JetStreamApiCodes.StreamWrongLastSequenceUnknown)) throw err;
      const r = await this.readRecord(job.id);
      if (typeof r !== 'object') throw err;
      return this.add(r.job, r.rev);
    }
    this.add(job, seq);
    this.changes.emit('job', job);
    return job;
  }

  private add(job: JobRecord, rev: number): JobRecord {
    const written = JSON.stringify({ ...job, revision: 0 });
    const known = this.summaries.get(job.id);
    if (known) {
      // known and finished, not in memory: this copy becomes the current one
      const inMemory = this.peek(job.id);
      if (inMemory) return inMemory;
      this.stored.set(job, { written, rev, summary: known });
      known.rev = Math.max(known.rev, rev);
      this.recent.set(job.id, job, written.length);
      return job;
    }
    const s = summaryOf(job, this.intern(job.workspace));
    if (s.workspace) this.workspaces.get(s.workspace)!.users++;
    this.summaries.set(job.id, s);
    this.bySubmit.insert(s);
    if (s.endedAt !== null) this.byEnd.insert(s);
    this.stored.set(job, { written, rev, summary: s });
    const held = isHeld(job);
    if (held) {
      this.held.set(job.id, job);
    } else {
      s.rev = rev;
      this.recent.set(job.id, job, written.length);
    }
    this.index.put(job.id, indexEntryOf(job, !held));
    return job;
  }

  /**
   * Removes an ended job for good (retention): its KV entry with its history (no marker left),
   * then its index entry and what memory holds of it. A write of it still in flight is dropped by `persist`.
   */
  async delete(id: string): Promise<void> {
    this.mayWrite();
    await purgeKey(this.o.nc(), Buckets.jobs, id);
    const s = this.summaries.get(id);
    if (s) this.forget(s);
    this.index.purge(id);
  }

  private forget(s: JobSummary): void {
    this.summaries.delete(s.id);
    this.bySubmit.remove(s);
    if (s.endedAt !== null) this.byEnd.remove(s);
    if (s.workspace) {
      const w = this.workspaces.get(s.workspace);
      if (w && --w.users <= 0) this.workspaces.delete(s.workspace);
    }
    this.held.delete(s.id);
    this.recent.delete(s.id);
  }

  /**
   * Before an ended job is started again (`meshrun retry`): its index entry says "not ended", written
   * now and awaited, after any earlier write of it. Start-up holds a job by its entry: one left
   * "finished" over a record that runs again would never be acted on, whereas an entry "not ended"
   * over a record that did not change (the retry went no further) is read and fixed at start-up.
   */
  async reopening(job: JobRecord): Promise<void> {
    await this.index.written(job.id);
    this.mayWrite();
    await this.o.index().put(job.id, JSON.stringify(indexEntryOf(job, false)));
  }

  /**
   * A job `meshrun retry` started again (the record says so already: not ended, and `reopening`
   * wrote its index entry): held again, out of the end order (retention passes it by). Called
   * before the record is written; the summary is a new object, since the orders mark a removed one
   * rather than drop it.
   */
  reopen(job: JobRecord): void {
    const old = this.summaries.get(job.id);
    const st = this.stored.get(job);
    if (!old || !st || st.summary !== old || job.endedAt !== null) throw new MeshrunError(ErrorCode.Internal, `job ${job.id} cannot be reopened: not the stored record of an ended job`);
    if (old.endedAt !== null) this.byEnd.remove(old);
    this.bySubmit.remove(old);
    const s: JobSummary = { id: old.id, submittedAt: old.submittedAt, endedAt: null, workspace: old.workspace, rev: old.rev };
    this.summaries.set(job.id, s);
    this.bySubmit.insert(s);
    st.summary = s;
    this.recent.delete(job.id);
    // a retried job waits behind those submitted before it was retried
    if (this.held.get(job.id) !== job) {
      this.held.delete(job.id);
      this.held.set(job.id, job);
    }
  }

  /** Per job: the write chain (its last write) and a write queued behind it, not begun yet. */
  private readonly writes = new Map<string, { tail: Promise<void>; queued: Promise<void> | undefined }>();

  /**
   * Writes the job to KV if it changed since the last write (compared without its revision);
   * resolves once a write holding the record as it is now is stored. Writes of one job go one
   * after another, each a compare-and-set on the revision the one before it got; writes of
   * different jobs do not wait for each other. Changes made while a write is in flight are
   * taken by one more write after it (however many changes: the record as it is then).
   */
  persist(job: JobRecord): Promise<void> {
    let chain = this.writes.get(job.id);
    if (!chain) this.writes.set(job.id, (chain = { tail: Promise.resolve(), queued: undefined }));
    // a write not begun yet writes the record as it is when it begins: this change included
    if (chain.queued) return chain.queued;
    const c = chain;
    const write = c.tail.then(noop, noop).then(() => {
      c.queued = undefined;
      return this.writeOnce(job);
    });
    c.queued = write;
    c.tail = write;
    write
      .finally(() => {
        if (c.tail === write && this.writes.get(job.id) === c) this.writes.delete(job.id);
      })
      .catch(noop);
    return write;
  }

  /** Resolves once every write begun or queued so far has settled. */
  async writesSettled(): Promise<void> {
    await Promise.all([...this.writes.values()].map((c) => c.tail.then(noop, noop)));
  }

  private async writeOnce(job: JobRecord): Promise<void> {
    const st = this.stored.get(job);
    // not a record of this store, or removed by retention meanwhile: it must not come back
    if (!st || this.summaries.get(job.id) !== st.summary) return;
    const rev = job.revision;
    job.revision = 0;
    const key = JSON.stringify(job);
    job.revision = rev;
    if (st.written === key) return;
    this.mayWrite();
    job.revision += 1;
    try {
      st.rev = await this.kv.update(job.id, JSON.stringify(job), st.rev);
    } catch (err) {
      job.revision -= 1;
      if (!isWrongRevision(err)) throw err;
      this.o.log.error('job write refused: another coordinator wrote it since', { job: job.id });
      this.onConflict(job.id);
      throw new MeshrunError(ErrorCode.Conflict, `job ${job.id} was written by another coordinator (this one no longer leads)`);
    }
    st.written = key;
    this.settle(job, st);
    this.changes.emit('job', job);
  }

  /** After a write: an ended job joins the end order; one that is finished leaves memory and is indexed. */
  private settle(job: JobRecord, st: Stored): void {
    const s = st.summary;
    if (job.endedAt !== null && s.endedAt === null) {
      s.endedAt = job.endedAt;
      this.byEnd.insert(s);
    }
    if (this.held.get(job.id) === job) {
      if (isHeld(job)) return;
      this.held.delete(job.id);
      this.index.put(job.id, indexEntryOf(job, true));
    }
    // finished: this object is the current record (a copy read before this write is not)
    s.rev = st.rev;
    this.recent.set(job.id, job, st.written.length);
  }

  /** Resolves once the record and index writes queued so far are done (before closing). */
  async flush(): Promise<void> {
    await this.writesSettled();
    await this.index.idle();
  }
}

const streamOf = (bucket: string): string => `KV_${bucket}`;
const noop = (): void => undefined;

/** Removes a key's messages from a bucket's stream: unlike a KV purge, no marker is left. */
async function purgeKey(nc: NatsConnection, bucket: string, key: string): Promise<void> {
  // no API check per call: the coordinator checked JetStream when it opened its buckets
  await (await jetstreamManager(nc, { checkAPI: false })).streams.purge(streamOf(bucket), { filter: `$KV.${bucket}.${key}` });
}
