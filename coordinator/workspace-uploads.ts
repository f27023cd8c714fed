// Workspace archives from clients (`PutBlob`), streamed into the object store as they arrive:
// the coordinator holds one chunk per upload, never a whole archive. The claimed sha256 is
// checked as the bytes pass; a mismatch purges what was stored. Uploads open at once are capped.
import { createHash } from 'node:crypto';
import { ChunkPipe } from '../lib/chunk-pipe.js';
import { ErrorCode, InvalidInputError, MeshrunError } from '../lib/errors.js';
import { Limits } from '../lib/limits.js';
import type { Logger } from '../lib/log.js';
import { workspaceObject, type BlobStore } from './blob-store.js';

export interface WorkspaceUploadLimits {
  /** @default Limits.workspaceUploadsTotal */
  total: number;
  /** @default Limits.workspaceUploadsPerCaller */
  perCaller: number;
  /** @default Limits.workspaceMaxBytes */
  maxBytes: number;
}

export interface WorkspaceRef {
  sha256: string;
  size: number;
  existed: boolean;
}

/** One upload: `write` each chunk in order (waits while the store catches up), then `finish`. */
export interface WorkspaceUpload {
  write(data: Uint8Array): Promise<void>;
  finish(): Promise<WorkspaceRef>;
  /** Gives up: whatever was stored is purged. Idempotent. */
  abort(why: string): void;
}

const SHA256_RE = /^[a-f0-9]{64}$/;

export class WorkspaceUploads {
  private open = 0;
  private readonly byCaller = new Map<string, number>();
  private readonly limits: WorkspaceUploadLimits;

  constructor(
    private readonly store: Pick<BlobStore, 'has' | 'putStream'>,
    private readonly log: Logger,
    limits: Partial<WorkspaceUploadLimits> = {},
  ) {
    this.limits = { total: Limits.workspaceUploadsTotal, perCaller: Limits.workspaceUploadsPerCaller, maxBytes: Limits.workspaceMaxBytes, ...limits };
  }

  /** Uploads open now. */
  get active(): number {
    return this.open;
  }

  /**
   * Opens an upload of the archive whose sha256 the client claims. Refused (RESOURCE_EXHAUSTED,
   * naming the limit) when too many are open, in all or of this caller.
   */
  begin(caller: string, claimed: string): WorkspaceUpload {
    if (!SHA256_RE.test(claimed)) throw new InvalidInputError('a workspace upload starts with the sha256 of the archive (64 hex digits) on its first chunk');
    const mine = this.byCaller.get(caller) ?? 0;
    if (mine >= this.limits.perCaller) {
      throw new MeshrunError(ErrorCode.TooLarge, `${caller} has ${mine} workspace uploads open (limit workspaceUploadsPerCaller: ${this.limits.perCaller}); try again when one is done`);
    }
    if (this.open >= this.limits.total) {
      throw new MeshrunError(ErrorCode.TooLarge, `${this.open} workspace uploads are open (limit workspaceUploadsTotal: ${this.limits.total}); try again shortly`);
    }
    this.open += 1;
    this.byCaller.set(caller, mine + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.open -= 1;
      const n = (this.byCaller.get(caller) ?? 1) - 1;
      if (n > 0) this.byCaller.set(caller, n);
      else this.byCaller.delete(caller);
    };
    return this.upload(claimed, release);
  }

  private upload(claimed: string, release: () => void): WorkspaceUpload {
    const name = workspaceObject(claimed);
    const hash = createHash('sha256');
    const pipe = new ChunkPipe();
    let size = 0;
    let failure: Error | undefined;
    // stored already: the bytes are still hashed (the claim is checked) but go nowhere
    const existed = this.store.has(name);
    let stored: Promise<unknown> | undefined;
    const storing = existed.then((yes) => {
      if (yes || failure) return;
      stored = this.store.putStream(name, 'workspace', pipe.stream);
      stored.catch(() => undefined); // observed in finish
    });
    storing.catch(() => undefined);
    const fail = (err: Error): Error => {
      failure ??= err;
      pipe.fail(failure);
      release();
      return failure;
    };
    return {
      write: async (data) => {
        if (failure) throw failure;
        size += data.length;
        if (size > this.limits.maxBytes) throw fail(new MeshrunError(ErrorCode.TooLarge, `workspace is larger than ${this.limits.maxBytes} bytes (limit workspaceMaxBytes)`));
        hash.update(data);
        try {
          await storing;
          if (stored) await pipe.push(data);
        } catch (err) {
          throw fail(new MeshrunError(ErrorCode.Unreachable, `storing the workspace failed: ${(err as Error).message}`, { cause: err }));
        }
      },
      finish: async () => {
        if (failure) throw failure;
        const sha256 = hash.digest('hex');
        if (sha256 !== claimed) {
          // the store has taken every chunk but not the end: failing now purges them
          throw fail(new InvalidInputError(`workspace upload damaged: content hash ${sha256.slice(0, 12)}, expected ${claimed.slice(0, 12)}; nothing was stored`));
        }
        try {
          await storing;
          if (!stored) {
            release();
            return { sha256, size, existed: true };
          }
          pipe.end();
          await stored;
        } catch (err) {
          throw fail(new MeshrunError(ErrorCode.Unreachable, `storing the workspace failed: ${(err as Error).message}`, { cause: err }));
        }
        release();
        this.log.info('workspace stored', { sha256, bytes: size });
        return { sha256, size, existed: false };
      },
      abort: (why) => {
        if (!failure) fail(new Error(`upload abandoned: ${why}`));
      },
    };
  }
}
