// Workspaces and artifacts for agents, so that no node needs the object store: a node asks on
// subjects that name it (`mr.blob.<node>.get|put`, which the server holds it to) and may read
// only the workspace of a run it holds and write only that run's artifacts. Every request is
// bounded (chunk size, uploads open, reads in flight, idle uploads dropped) and answered.
import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  blobGetRequestSchema,
  blobPutRequestSchema,
  type BlobBeginReply,
  type BlobChunkReply,
  type BlobCommitReply,
  type BlobGetReply,
  type BlobPutRequest,
  type BlobRefusal,
} from '../proto/bus.js';
import { decode } from '../proto/decode.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { nodeInboxPrefix } from '../proto/permissions.js';
import { isActiveAttempt, type JobRecord } from '../proto/records.js';
import { parseBlobSubject, Subjects } from '../proto/subjects.js';
import { ChunkPipe } from '../lib/chunk-pipe.js';
import { InvalidInputError } from '../lib/errors.js';
import { Limits } from '../lib/limits.js';
import type { Logger } from '../lib/log.js';
import { artifactObject, workspaceObject, type BlobStore } from './blob-store.js';
import { currentAttempt } from './job-machine.js';

export interface BlobServiceLimits {
  /** @default Limits.artifactsMaxBytes */
  artifactsMaxBytes: number;
  /** @default Limits.blobUploadsPerNode */
  uploadsPerNode: number;
  /** @default Limits.blobUploadsTotal */
  uploadsTotal: number;
  /** @default Limits.blobReadsPerNode */
  readsPerNode: number;
  /** @default Limits.blobUploadIdleMs */
  uploadIdleMs: number;
}

export interface BlobServiceOptions {
  nc: NatsConnection;
  store: Pick<BlobStore, 'has' | 'read' | 'putStream'>;
  /** The job's record as it stands: who holds which attempt. */
  job(id: string): JobRecord | undefined;
  log: Logger;
  limits?: Partial<BlobServiceLimits>;
}

/** A request the service turns down; `retry` when asking again later may work. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly retry = false,
  ) {
    super(message);
  }
}

interface Upload {
  id: string;
  node: string;
  token: RunToken;
  object: string;
  size: number;
  sha256: string;
  received: number;
  nextSeq: number;
  hash: Hash;
  pipe: ChunkPipe;
  /** The object store's put, reading from `pipe`; set once the upload is open. */
  stored: Promise<unknown> | undefined;
  /** A chunk or the commit is being stored: not idle, and nothing else may be sent meanwhile. */
  busy: boolean;
  touchedAt: number;
}

/** Why `node` may not touch the blobs of `token` (undefined: it holds that attempt, not ended). */
export function whyNotHolder(job: JobRecord | undefined, token: RunToken, node: string): string | undefined {
  const key = tokenKey(token);
  const stage = job?.stages.find((s) => s.name === token.stage);
  // a fan-out holds one attempt per node, several current at once
  const a = stage && (stage.targets !== undefined ? stage.attempts.find((x) => x.attempt === token.attempt) : currentAttempt(stage));
  if (!a || a.attempt !== token.attempt) return `run ${key} is not a current attempt`;
  if (a.node !== node) return `run ${key} is not held by node ${node}`;
  if (!isActiveAttempt(a.state)) return `run ${key} has ended (${a.state})`;
  return undefined;
}

export class BlobService {
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly uploads = new Map<string, Upload>();
  private readonly reading = new Map<string, number>();
  private readonly limits: BlobServiceLimits;

  constructor(private readonly opts: BlobServiceOptions) {
    this.limits = {
      artifactsMaxBytes: Limits.artifactsMaxBytes,
      uploadsPerNode: Limits.blobUploadsPerNode,
      uploadsTotal: Limits.blobUploadsTotal,
      readsPerNode: Limits.blobReadsPerNode,
      uploadIdleMs: Limits.blobUploadIdleMs,
      ...opts.limits,
    };
  }

  start(): void {
    if (this.sub) return;
    this.sub = this.opts.nc.subscribe(Subjects.blobWildcard, {
      callback: (err, msg) => {
        if (!err) void this.onMessage(msg);
      },
    });
    const every = Math.max(50, Math.min(5000, Math.floor(this.limits.uploadIdleMs / 4)));
    this.timer = setInterval(() => this.dropIdle(Date.now()), every);
  }

  /** Stops answering; uploads still open are dropped (their bytes purged). */
  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.timer) clearInterval(this.timer);
    for (const u of this.uploads.values()) this.drop(u, 'the coordinator is stopping');
  }

  /** Uploads open now (for tests and status). */
  get openUploads(): number {
    return this.uploads.size;
  }

  private async onMessage(msg: Msg): Promise<void> {
    const where = parseBlobSubject(msg.subject);
    // replies go only to the asking node's own inbox
    if (!where || !msg.reply?.startsWith(`${nodeInboxPrefix(where.node)}.`)) {
      this.opts.log.warn('blob request without a reply subject of its node ignored', { subject: msg.subject, reply: msg.reply });
      return;
    }
    let reply: BlobGetReply | BlobBeginReply | BlobChunkReply | BlobCommitReply | BlobRefusal;
    try {
      reply = where.op === 'get' ? await this.get(where.node, msg.data) : await this.put(where.node, msg.data);
    } catch (err) {
      const refusal = err instanceof Refusal ? err : new Refusal(`blob service failed: ${(err as Error).message}`, true);
      if (err instanceof Refusal) this.opts.log.warn('blob request refused', { node: where.node, op: where.op, error: refusal.message });
      else this.opts.log.error('blob request failed', { node: where.node, op: where.op, err });
      reply = { ok: false, error: refusal.message, retry: refusal.retry };
    }
    try {
      msg.respond(JSON.stringify(reply));
    } catch (err) {
      this.opts.log.warn('blob reply not sent', { subject: msg.subject, err });
    }
  }

  // ---- workspaces ----

  private async get(node: string, data: Uint8Array): Promise<BlobGetReply> {
    const parsed = decode(blobGetRequestSchema, data);
    if (!parsed.ok) throw new Refusal(`invalid blob get: ${parsed.errors.slice(0, 5).join('; ')}`);
    const req = parsed.value;
    const job = this.holding(node, req.token);
    if (job.workspace !== req.workspace) {
      throw new Refusal(job.workspace === null ? `job ${job.id} has no workspace` : `workspace ${req.workspace.slice(0, 12)} is not the workspace of job ${job.id}`);
    }
    const inFlight = this.reading.get(node) ?? 0;
    if (inFlight >= this.limits.readsPerNode) throw new Refusal(`node ${node} has ${inFlight} workspace reads in flight (limit ${this.limits.readsPerNode})`, true);
    this.reading.set(node, inFlight + 1);
    try {
      const r = await this.opts.store.read(workspaceObject(req.workspace), req.offset, req.length);
      if (!r) throw new Refusal(`workspace ${req.workspace.slice(0, 12)} of job ${job.id} is not in the object store`);
      return { ok: true, size: r.size, offset: req.offset, data: r.data.toString('base64') };
    } catch (err) {
      if (err instanceof InvalidInputError) throw new Refusal(err.message);
      throw err;
    } finally {
      const n = (this.reading.get(node) ?? 1) - 1;
      if (n > 0) this.reading.set(node, n);
      else this.reading.delete(node);
    }
  }

  /** The job when `node` holds the attempt `token` and it has not ended; otherwise a refusal. */
  private holding(node: string, token: RunToken): JobRecord {
    const job = this.opts.job(token.job);
    const why = whyNotHolder(job, token, node);
    if (why || !job) throw new Refusal(why ?? `no job ${token.job}`);
    return job;
  }

  // ---- artifacts ----

  private async put(node: string, data: Uint8Array): Promise<BlobBeginReply | BlobChunkReply | BlobCommitReply> {
    const parsed = decode(blobPutRequestSchema, data);
    if (!parsed.ok) throw new Refusal(`invalid blob put: ${parsed.errors.slice(0, 5).join('; ')}`);
    const req = parsed.value;
    if (req.op === 'begin') return this.begin(node, req);
    if (req.op === 'chunk') return this.chunk(node, req);
    return this.commit(node, req);
  }

  private async begin(node: string, req: Extract<BlobPutRequest, { op: 'begin' }>): Promise<BlobBeginReply> {
    const key = tokenKey(req.token);
    const job = this.holding(node, req.token);
    if (!job.spec.stages.find((s) => s.name === req.token.stage)?.artifacts?.length) throw new Refusal(`stage ${req.token.stage} of job ${job.id} keeps no artifacts`);
    if (req.size > this.limits.artifactsMaxBytes) throw new Refusal(`artifacts of ${key} are ${req.size} bytes, over the limit of ${this.limits.artifactsMaxBytes}`);
    const object = artifactObject(req.token);
    // the agent starts over after a failure: what it left midway goes
    for (const u of this.uploads.values()) if (u.object === object) this.drop(u, 'a new upload of the same run began');
    const mine = [...this.uploads.values()].filter((u) => u.node === node).length;
    if (mine >= this.limits.uploadsPerNode) throw new Refusal(`node ${node} has ${mine} artifact uploads open (limit ${this.limits.uploadsPerNode})`, true);
    if (this.uploads.size >= this.limits.uploadsTotal) throw new Refusal(`${this.uploads.size} artifact uploads are open (limit ${this.limits.uploadsTotal})`, true);
    const u: Upload = {
      id: randomUUID(),
      node,
      token: req.token,
      object,
      size: req.size,
      sha256: req.sha256,
      received: 0,
      nextSeq: 0,
      hash: createHash('sha256'),
      pipe: new ChunkPipe(),
      stored: undefined,
      busy: true,
      touchedAt: Date.now(),
    };
    this.uploads.set(u.id, u);
    let existed: boolean;
    try {
      existed = await this.opts.store.has(object);
    } catch (err) {
      this.drop(u, 'the object store did not answer');
      throw err;
    }
    if (existed) {
      this.drop(u, 'already stored');
      return { ok: true, object, upload: null };
    }
    if (!this.uploads.has(u.id)) throw new Refusal(`upload of ${key} was replaced while it opened`, true);
    u.stored = this.opts.store.putStream(object, key, u.pipe.stream);
    u.stored.catch((err: Error) => u.pipe.fail(err));
    u.busy = false;
    u.touchedAt = Date.now();
    return { ok: true, object, upload: u.id };
  }

  private async chunk(node: string, req: Extract<BlobPutRequest, { op: 'chunk' }>): Promise<BlobChunkReply> {
    const u = this.open(node, req.upload);
    if (req.seq === u.nextSeq - 1) return { ok: true, received: u.received }; // a repeat of the last chunk
    if (req.seq !== u.nextSeq) {
      this.drop(u, 'chunk out of order');
      throw new Refusal(`upload ${u.id}: chunk ${req.seq} out of order, expected ${u.nextSeq}`);
    }
    const data = Buffer.from(req.data, 'base64');
    if (u.received + data.length > u.size) {
      this.drop(u, 'over its declared size');
      throw new Refusal(`upload ${u.id}: chunk ${req.seq} takes it past its declared size of ${u.size} bytes`);
    }
    u.busy = true;
    try {
      await u.pipe.push(data);
    } catch (err) {
      this.drop(u, 'the store failed');
      throw new Refusal(`storing artifacts of ${tokenKey(u.token)} failed: ${(err as Error).message}`, true);
    } finally {
      u.busy = false;
      u.touchedAt = Date.now();
    }
    u.hash.update(data);
    u.received += data.length;
    u.nextSeq += 1;
    return { ok: true, received: u.received };
  }

  private async commit(node: string, req: Extract<BlobPutRequest, { op: 'commit' }>): Promise<BlobCommitReply> {
    const u = this.open(node, req.upload);
    const key = tokenKey(u.token);
    if (u.received !== u.size) {
      this.drop(u, 'incomplete');
      throw new Refusal(`upload ${u.id} is incomplete: ${u.received} of ${u.size} bytes`);
    }
    const sha256 = u.hash.digest('hex');
    if (sha256 !== u.sha256) {
      this.drop(u, 'damaged');
      throw new Refusal(`artifacts of ${key} damaged in transit: content hash ${sha256.slice(0, 12)}, expected ${u.sha256.slice(0, 12)}`);
    }
    // the run may have been superseded while its artifacts travelled
    const why = whyNotHolder(this.opts.job(u.token.job), u.token, node);
    if (why) {
      this.drop(u, why);
      throw new Refusal(why);
    }
    u.busy = true;
    u.pipe.end();
    try {
      await u.stored;
    } catch (err) {
      throw new Refusal(`storing artifacts of ${key} failed: ${(err as Error).message}`, true);
    } finally {
      this.uploads.delete(u.id);
    }
    this.opts.log.info('artifacts stored', { token: key, node, bytes: u.size });
    return { ok: true, object: u.object };
  }

  /** The open upload `id` of `node`, ready for its next message. */
  private open(node: string, id: string): Upload {
    const u = this.uploads.get(id);
    if (!u || u.node !== node) throw new Refusal(`no open upload ${id} of node ${node}: begin again`, true);
    if (u.busy) throw new Refusal(`upload ${id}: the previous message is still being stored`, true);
    return u;
  }

  private drop(u: Upload, why: string): void {
    if (this.uploads.get(u.id) !== u) return;
    this.uploads.delete(u.id);
    u.pipe.fail(new Error(`upload dropped: ${why}`));
  }

  private dropIdle(now: number): void {
    for (const u of this.uploads.values()) {
      if (u.busy || now - u.touchedAt <= this.limits.uploadIdleMs) continue;
      this.opts.log.warn('artifact upload abandoned midway: dropped', { node: u.node, token: tokenKey(u.token), received: u.received, size: u.size });
      this.drop(u, `no message for ${this.limits.uploadIdleMs} ms`);
    }
  }
}
