// The agent's half of the coordinator's blob service: a run's workspace pulled chunk by chunk
// (offset, length) and its artifacts pushed in numbered chunks, by request/reply on this
// node's own subjects. The node's credential reaches no object store; the coordinator decides.
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { BLOB_CHUNK_MAX_BYTES, blobBeginReplySchema, blobChunkReplySchema, blobCommitReplySchema, blobGetReplySchema, type BlobPutRequest, type BlobRefusal, type BlobGetRequest } from '../proto/bus.js';
import { decode } from '../proto/decode.js';
import type { RunToken } from '../proto/names.js';
import { Subjects } from '../proto/subjects.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import { formatBytes, TooLargeError } from '../lib/workspace/limits.js';
import { BusUnavailableError } from './outbox-relay.js';

/** The coordinator turned the request down; `retry` when asking again later may work. */
export class BlobRefusedError extends MeshrunError {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(retry ? ErrorCode.Unreachable : ErrorCode.InvalidInput, `the coordinator refused: ${message}`);
    this.name = 'BlobRefusedError';
  }
}

export function isRefusedForGood(err: unknown): err is BlobRefusedError {
  return err instanceof BlobRefusedError && !err.retry;
}

export interface BlobClientOptions {
  node: string;
  /** The bus connection, when there is one. */
  nc(): NatsConnection | undefined;
  /** Each request's wait for its reply (a chunk's reply waits for it to be stored). @default 15000 */
  timeoutMs?: number;
  /** @default BLOB_CHUNK_MAX_BYTES */
  chunkBytes?: number;
}

export class BlobClient {
  private readonly timeoutMs: number;
  private readonly chunkBytes: number;

  constructor(private readonly opts: BlobClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.chunkBytes = Math.min(opts.chunkBytes ?? BLOB_CHUNK_MAX_BYTES, BLOB_CHUNK_MAX_BYTES);
  }

  /** The workspace archive of the job of `token` (a run this node holds), at most `maxBytes`. */
  async getWorkspace(token: RunToken, sha256: string, maxBytes: number): Promise<Buffer> {
    let out: Buffer | undefined;
    let offset = 0;
    do {
      const req: BlobGetRequest = { token, workspace: sha256, offset, length: this.chunkBytes };
      const r = await this.ask(Subjects.blobGet(this.opts.node), req, blobGetReplySchema);
      if (!out) {
        if (r.size > maxBytes) throw new TooLargeError(`workspace ${sha256.slice(0, 12)} is ${formatBytes(r.size)}, over the limit of ${formatBytes(maxBytes)}`);
        out = Buffer.allocUnsafe(r.size);
      }
      const data = Buffer.from(r.data, 'base64');
      if (r.size !== out.length || r.offset !== offset || offset + data.length > out.length || (data.length === 0 && offset < out.length)) {
        throw new MeshrunError(ErrorCode.Internal, `workspace ${sha256.slice(0, 12)}: reply for ${data.length} bytes at ${r.offset} of ${r.size} does not continue ${offset} of ${out.length}`);
      }
      data.copy(out, offset);
      offset += data.length;
    } while (offset < out.length);
    return out;
  }

  /** Stores `data` (whose sha256 is `sha256`) as the artifacts of `token`; the object's name comes back. */
  async putArtifacts(token: RunToken, data: Buffer, sha256: string): Promise<{ object: string }> {
    const subject = Subjects.blobPut(this.opts.node);
    const begin = await this.ask(subject, { op: 'begin', token, sha256, size: data.length } satisfies BlobPutRequest, blobBeginReplySchema);
    if (begin.upload === null) return { object: begin.object };
    for (let seq = 0, off = 0; off < data.length; seq++, off += this.chunkBytes) {
      const chunk = data.subarray(off, off + this.chunkBytes).toString('base64');
      await this.ask(subject, { op: 'chunk', upload: begin.upload, seq, data: chunk } satisfies BlobPutRequest, blobChunkReplySchema);
    }
    const done = await this.ask(subject, { op: 'commit', upload: begin.upload } satisfies BlobPutRequest, blobCommitReplySchema);
    return { object: done.object };
  }

  private async ask<T extends { ok: boolean }>(subject: string, body: unknown, schema: z.ZodType<T>): Promise<Exclude<T, BlobRefusal>> {
    const nc = this.opts.nc();
    if (!nc || nc.isClosed()) throw new BusUnavailableError();
    let data: Uint8Array;
    try {
      data = (await nc.request(subject, JSON.stringify(body), { timeout: this.timeoutMs })).data;
    } catch (err) {
      throw new MeshrunError(ErrorCode.Unreachable, `blob service not reached: ${(err as Error).message}`, { cause: err });
    }
    const r = decode(schema, data);
    if (!r.ok) throw new MeshrunError(ErrorCode.Internal, `invalid blob reply: ${r.errors.slice(0, 5).join('; ')}`);
    const v = r.value as T | BlobRefusal;
    if (!v.ok) throw new BlobRefusedError((v as BlobRefusal).error, (v as BlobRefusal).retry);
    return v as Exclude<T, BlobRefusal>;
  }
}
