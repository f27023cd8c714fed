// Retention: ended jobs are kept for a while (`--retain-for`) and up to a number
// (`--retain-jobs`), then removed everywhere - their record, log and playbook-event bytes,
// artifacts, a workspace no other job needs, and the nodes' run directories (a `forget`
// command; each agent's own retention is the backstop for a node that was away). Run events
// are purged once the coordinator has applied them, and the object store's and buckets'
// markers of removed entries are purged too, so a fleet under a steady job rate keeps a flat
// disk. Every step is idempotent: a removal cut short is done again on the next pass.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobRecord } from '../proto/records.js';
import { Durables, Streams, Subjects } from '../proto/subjects.js';
import type { Logger } from '../lib/log.js';
import { artifactObject, workspaceObject, type BlobStore } from './blob-store.js';

export interface RetentionPolicy {
  /** An ended job is removed this long after it ended. */
  retainForMs: number;
  /** At most this many ended jobs are kept (the oldest go first). */
  retainJobs: number;
  /** Applied run events kept in MR_EVENTS (the latest); older applied ones are purged. */
  retainEvents: number;
}

/** A workspace stored this long ago that no job names is an abandoned upload. */
const ORPHAN_WORKSPACE_MS = 60 * 60_000;
/** How often the whole object store is listed for abandoned workspaces, and KV markers purged. */
const DEEP_SWEEP_MS = 10 * 60_000;
/** At most this many jobs are removed per pass, so a pass never holds anything up for long. */
const REMOVE_PER_PASS = 200;

/** What retention needs to know of an ended job to choose it (the coordinator's summary of it). */
export interface EndedJob {
  id: string;
  endedAt: number | null;
}

/**
 * The ended jobs to remove now, oldest end first: those ended longer than `retainForMs` ago,
 * and the oldest beyond `retainJobs`. A job whose prune has not reached a node yet is kept
 * (its files there may be sensitive, and the prune needs the record) until twice the time.
 * `oldestFirst` holds the `count` ended jobs in order of their end; the walk stops at the first
 * one that is young and within the count, so a pass costs what it removes (plus the jobs kept
 * for a prune), not a sort of every ended job.
 */
export function jobsToRemove<T extends EndedJob>(
  oldestFirst: Iterable<T>,
  count: number,
  now: number,
  policy: RetentionPolicy,
  owesPrune: (id: string) => boolean,
  max = REMOVE_PER_PASS,
): T[] {
  const overCount = Math.max(0, count - policy.retainJobs);
  const out: T[] = [];
  let i = 0;
  if (max <= 0) return out;
  for (const job of oldestFirst) {
    const age = now - job.endedAt!;
    if (i++ >= overCount && age < policy.retainForMs) break; // in end order: every later one is younger
    if (owesPrune(job.id) && age < 2 * policy.retainForMs) continue;
    out.push(job);
    if (out.length >= max) break;
  }
  return out;
}

export interface RetentionHost {
  nc(): NatsConnection;
  log: Logger;
  blobs: BlobStore;
  /** Every ended job, oldest end first (walked without awaiting in between), and how many. */
  ended(): { count: number; oldestFirst: Iterable<EndedJob> };
  /** Nodes are still owed a prune of this ended job. */
  owesPrune(id: string): boolean;
  /** The job's whole record (a finished job's is read from KV); undefined when it is gone. */
  record(id: string): Promise<JobRecord | undefined>;
  /** Removes the job's record from KV (with its history), its index entry, and what memory holds of it. */
  removeRecord(id: string): Promise<void>;
  /** Removes a stored workspace unless a job other than those in `removing` names it. */
  removeWorkspace(sha256: string, removing: ReadonlySet<string>): Promise<boolean>;
  /** The workspaces stored jobs name. */
  workspacesInUse(): Iterable<string>;
  /** Forgets a job's stored secrets (normally gone when it ended). */
  removeSecrets(id: string): Promise<void>;
  /** Best effort: asks a node to delete its run directories of the job. */
  forgetOnNode(id: string, node: string): Promise<boolean>;
  /** Drops per-job bookkeeping held elsewhere in memory. */
  forgotten(ids: ReadonlySet<string>): void;
  /** KV buckets whose delete markers are purged now and then. */
  purgeKvMarkers(olderThanMs: number): Promise<void>;
}

export class Retention {
  private lastDeep = 0;
  private eventsPurgedBelow = 0;

  constructor(
    private readonly host: RetentionHost,
    readonly policy: RetentionPolicy,
  ) {}

  /** One pass; returns how many jobs were removed. Never throws: a failed step is retried next pass. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    try {
      const { count, oldestFirst } = this.host.ended();
      const due = jobsToRemove(oldestFirst, count, now, this.policy, (id) => this.host.owesPrune(id));
      const gone = new Set<string>();
      for (const { id } of due) {
        if (await this.remove(id, gone)) {
          gone.add(id);
          removed++;
        }
      }
      if (gone.size > 0) {
        this.host.forgotten(gone);
        this.host.log.info('ended jobs removed by retention', { jobs: gone.size, retainForMs: this.policy.retainForMs, retainJobs: this.policy.retainJobs });
      }
      await this.purgeAppliedEvents();
      if (now - this.lastDeep >= DEEP_SWEEP_MS) {
        this.lastDeep = now;
        await this.removeOrphanWorkspaces(now);
        await this.host.purgeKvMarkers(DEEP_SWEEP_MS);
      }
    } catch (err) {
      this.host.log.warn('retention pass cut short; retried on the next', { err });
    }
    return removed;
  }

  /** Removes one job everywhere; the record goes last, so a removal cut short is found again. */
  private async remove(id: string, gone: ReadonlySet<string>): Promise<boolean> {
    try {
      const job = await this.host.record(id);
      // its record is gone already (a removal cut short): what memory and the index hold of it goes
      if (!job) {
        await this.host.removeRecord(id);
        return true;
      }
      // retried meanwhile (meshrun retry): not ended any more
      if (job.endedAt === null) return false;
      // every attempt: one that stored its artifacts but was superseded before reporting has them too
      for (const s of job.stages) for (const a of s.attempts) await this.host.blobs.delete(artifactObject({ job: job.id, stage: s.name, attempt: a.attempt }));
      const jsm = await jetstreamManager(this.host.nc());
      await jsm.streams.purge(Streams.logs, { filter: Subjects.jobOutput(job.id) });
      if (job.spec.secrets) await this.host.removeSecrets(job.id);
      if (job.workspace) await this.host.removeWorkspace(job.workspace, new Set([...gone, job.id]));
      const nodes = new Set(job.stages.flatMap((s) => s.attempts.map((a) => a.node)));
      for (const n of nodes) void this.host.forgetOnNode(job.id, n);
      await this.host.removeRecord(job.id);
      return true;
    } catch (err) {
      this.host.log.warn('ended job not removed yet; retried on the next pass', { job: id, err });
      return false;
    }
  }

  /**
   * Run events the coordinator has applied (acked) live on in the job records; the stream keeps
   * the latest `retainEvents` of them as evidence and purges the older ones. Events not
   * applied yet are never purged.
   */
  private async purgeAppliedEvents(): Promise<void> {
    const jsm = await jetstreamManager(this.host.nc());
    const ci = await jsm.consumers.info(Streams.events, Durables.coordinatorEvents);
    const si = await jsm.streams.info(Streams.events);
    // purge below this sequence: applied, and older than the ones kept
    const below = Math.min(ci.ack_floor.stream_seq + 1, si.state.last_seq + 1 - this.policy.retainEvents);
    if (below <= Math.max(si.state.first_seq, this.eventsPurgedBelow)) return;
    await jsm.streams.purge(Streams.events, { seq: below });
    this.eventsPurgedBelow = below;
  }

  /** Workspaces uploaded but never used by a job (a submit that failed after its upload). */
  private async removeOrphanWorkspaces(now: number): Promise<void> {
    const used = new Set<string>();
    for (const sha of this.host.workspacesInUse()) used.add(workspaceObject(sha));
    for (const o of await this.host.blobs.list()) {
      if (o.name.startsWith('ws-') && !used.has(o.name) && now - o.storedAt > ORPHAN_WORKSPACE_MS) {
        await this.host.blobs.delete(o.name);
        this.host.log.info('abandoned workspace removed', { object: o.name });
      }
    }
  }
}
