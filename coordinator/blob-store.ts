// Workspace archives and artifacts in the JetStream object store, stored once by content
// hash. The bucket is opened lazily: a coordinator that never sees a workspace never makes it.
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import type { RunToken } from '../proto/names.js';
import { Buckets } from '../proto/subjects.js';
import { ErrorCode, InvalidInputError, MeshrunError } from '../lib/errors.js';
import { StoreLimits } from '../lib/limits.js';
import { applyLimits, orderedConsumer, replicasOf } from '../lib/nats.js';
import type { Logger } from '../lib/log.js';

/** Where an object's chunks live: every chunk's stream sequence, offset and length. */
interface ChunkIndex {
  size: number;
  subject: string;
  seqs: number[];
  starts: number[];
  lens: number[];
}

/** Chunk indexes kept for ranged reads (a few numbers per 128 KiB chunk). */
const MAX_INDEXES = 32;
const INDEX_IDLE_MS = 5 * 60_000;

export class BlobStore {
  private store: Promise<ObjectStore> | undefined;
  private jsm: Promise<JetStreamManager> | undefined;
  private readonly indexes = new Map<string, { index: Promise<ChunkIndex | undefined>; usedAt: number }>();

  constructor(
    private readonly nc: () => NatsConnection,
    private readonly log: Logger,
  ) {}

  private open(): Promise<ObjectStore> {
    this.store ??= (async () => {
      const os = await new Objm(this.nc()).create(Buckets.blobs, { max_bytes: StoreLimits.blobsMaxBytes, replicas: replicasOf(this.nc()) });
      await applyLimits(this.nc(), objectStream(), StoreLimits.blobsMaxBytes);
      return os;
    })().catch((err: unknown) => {
      this.store = undefined;
      throw err;
    });
    return this.store;
  }

  private manager(): Promise<JetStreamManager> {
    this.jsm ??= jetstreamManager(this.nc()).catch((err: unknown) => {
      this.jsm = undefined;
      throw err;
    });
    return this.jsm;
  }

  /** True when an object of that name is stored (and not deleted). */
  async has(name: string): Promise<boolean> {
    const info = await (await this.open()).info(name);
    return info !== null && !info.deleted;
  }

  /** Stores a workspace archive once by content hash (checked against the client's claim). */
  async putWorkspace(data: Buffer, claimed: string): Promise<{ sha256: string; size: number; existed: boolean }> {
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (claimed && claimed !== sha256) throw new InvalidInputError(`workspace upload damaged: content hash ${sha256.slice(0, 12)}, expected ${claimed.slice(0, 12)}`);
    const name = workspaceObject(sha256);
    if (await this.has(name)) return { sha256, size: data.length, existed: true };
    await (await this.open()).putBlob({ name }, data).catch(storeFull);
    this.log.info('workspace stored', { sha256, bytes: data.length });
    return { sha256, size: data.length, existed: false };
  }

  async get(name: string): Promise<Buffer | undefined> {
    const data = await (await this.open()).getBlob(name);
    return data ? Buffer.from(data) : undefined;
  }

  /**
   * Stores what `data` yields under `name`, read as the store wants it (the stream's pull is
   * the backpressure). A stream that errors stores nothing: the store purges its chunks.
   */
  async putStream(name: string, description: string, data: ReadableStream<Uint8Array>): Promise<ObjectInfo> {
    return (await this.open()).put({ name, description }, data).catch(storeFull);
  }

  /**
   * Removes an object and every trace of it: its chunks, and its metadata (the store's own
   * delete keeps a "deleted" marker per name, which would grow with every job ever run).
   */
  async delete(name: string): Promise<boolean> {
    const os = await this.open();
    const info = await os.info(name);
    if (info && !info.deleted) await os.delete(name);
    this.indexes.delete(name);
    const jsm = await this.manager();
    await jsm.streams.purge(objectStream(), { filter: metaSubject(name) });
    return info !== null && !info.deleted;
  }

  /** Every stored object's name and when it was stored (retention looks for workspaces no job needs). */
  async list(): Promise<{ name: string; storedAt: number }[]> {
    const out: { name: string; storedAt: number }[] = [];
    for (const i of await (await this.open()).list()) if (!i.deleted) out.push({ name: i.name, storedAt: Date.parse(i.mtime) || 0 });
    return out;
  }

  /**
   * Up to `length` bytes of an object from `offset`, and its size; undefined when there is no
   * such object. The object store's own reader pushes a whole object at once; this one reads
   * just the chunks that hold the range, by their stream sequences (ADR-20 layout:
   * stream `OBJ_<bucket>`, chunks on `$O.<bucket>.C.<nuid>`).
   */
  async read(name: string, offset: number, length: number): Promise<{ size: number; data: Buffer } | undefined> {
    for (let tries = 0; ; tries++) {
      const idx = await this.index(name);
      if (!idx) return undefined;
      if (offset > idx.size) throw new InvalidInputError(`offset ${offset} is past the end of ${name} (${idx.size} bytes)`);
      const end = Math.min(idx.size, offset + length);
      const parts: Uint8Array[] = [];
      const jsm = await this.manager();
      let i = chunkAt(idx.starts, offset);
      let pos = offset;
      let stale = false;
      while (pos < end) {
        const m = await jsm.streams.getMessage(objectStream(), { seq: idx.seqs[i]! });
        if (!m || m.subject !== idx.subject || m.data.length !== idx.lens[i]) {
          stale = true;
          break;
        }
        const start = idx.starts[i]!;
        parts.push(m.data.subarray(pos - start, Math.min(m.data.length, end - start)));
        pos = Math.min(start + m.data.length, end);
        i += 1;
      }
      if (!stale) return { size: idx.size, data: Buffer.concat(parts) };
      // the object was replaced or purged since its chunks were indexed
      this.indexes.delete(name);
      if (tries >= 1) throw new Error(`object ${name} changed while it was read`);
    }
  }

  /** The chunk index of an object, kept while it is read (least recently used dropped first). */
  private index(name: string): Promise<ChunkIndex | undefined> {
    const now = Date.now();
    for (const [k, e] of this.indexes) if (now - e.usedAt > INDEX_IDLE_MS) this.indexes.delete(k);
    let e = this.indexes.get(name);
    if (e) {
      this.indexes.delete(name);
    } else {
      if (this.indexes.size >= MAX_INDEXES) this.indexes.delete(this.indexes.keys().next().value!);
      const index = this.buildIndex(name);
      // a missing object is looked up again next time (it may be stored by then)
      const forget = (): void => {
        if (this.indexes.get(name)?.index === index) this.indexes.delete(name);
      };
      index.then((x) => x ?? forget(), forget);
      e = { index, usedAt: now };
    }
    e.usedAt = now;
    this.indexes.set(name, e);
    return e.index;
  }

  /** Reads the sequence and size of each chunk of an object (headers only: no chunk data moves). */
  private async buildIndex(name: string): Promise<ChunkIndex | undefined> {
    const info = await (await this.open()).info(name);
    if (!info || info.deleted) return undefined;
    const idx: ChunkIndex = { size: info.size, subject: `$O.${Buckets.blobs}.C.${info.nuid}`, seqs: [], starts: [], lens: [] };
    if (info.chunks === 0) return idx;
    const consumer = await orderedConsumer(this.nc(), objectStream(), { filter_subjects: idx.subject, headers_only: true });
    const messages = await consumer.consume({ max_messages: 1000 });
    let pos = 0;
    try {
      for await (const m of messages) {
        const len = Number(m.headers?.get('Nats-Msg-Size'));
        if (!Number.isInteger(len) || len < 0) throw new Error(`object ${name}: chunk ${m.seq} has no size`);
        idx.seqs.push(m.seq);
        idx.starts.push(pos);
        idx.lens.push(len);
        pos += len;
        if (idx.seqs.length >= info.chunks || m.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
    if (idx.seqs.length !== info.chunks || pos !== info.size) throw new Error(`object ${name} is damaged: ${idx.seqs.length} of ${info.chunks} chunks, ${pos} of ${info.size} bytes`);
    return idx;
  }
}

/** The last chunk that starts at or before `offset` (chunks are in order). */
function chunkAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A write past the object store's limit: say which limit. */
function storeFull(err: unknown): never {
  if (err instanceof Error && /maximum bytes/i.test(err.message)) {
    throw new MeshrunError(ErrorCode.TooLarge, `the object store is full: ${StoreLimits.blobsMaxBytes} bytes (limit blobsMaxBytes); ended jobs' artifacts and workspaces are removed by retention (--retain-for, --retain-jobs)`);
  }
  throw err;
}

/** The subject an object's metadata is stored under (ADR-20: base64url of the name, padded). */
function metaSubject(name: string): string {
  return `$O.${Buckets.blobs}.M.${Buffer.from(name).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
}

function objectStream(): string {
  return `OBJ_${Buckets.blobs}`;
}

/** The object name a workspace archive is stored under. */
export function workspaceObject(sha256: string): string {
  return `ws-${sha256}`;
}

/**
 * The object name one attempt's artifacts are stored under (only that attempt's node may write
 * it). Its parts are joined by ".", which no job or stage name holds, so no two runs share a
 * name (with "-", job `coll` stage `x-build` and job `coll-x` stage `build` did).
 */
export function artifactObject(t: RunToken): string {
  return `art.${t.job}.${t.stage}.${t.attempt}`;
}
