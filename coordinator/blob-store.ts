// Workspace archives and artifacts in the JetStream object store, stored once by content
// hash. The bucket is opened lazily: a coordinator that never sees a workspace never makes it.
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { Buckets } from '../proto/subjects.js';
import { InvalidInputError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

export class BlobStore {
  private store: Promise<ObjectStore> | undefined;

  constructor(
    private readonly nc: () => NatsConnection,
    private readonly log: Logger,
  ) {}

  private open(): Promise<ObjectStore> {
    this.store ??= new Objm(this.nc()).create(Buckets.blobs);
    return this.store;
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
    await (await this.open()).putBlob({ name }, data);
    this.log.info('workspace stored', { sha256, bytes: data.length });
    return { sha256, size: data.length, existed: false };
  }

  async get(name: string): Promise<Buffer | undefined> {
    const data = await (await this.open()).getBlob(name);
    return data ? Buffer.from(data) : undefined;
  }
}

/** The object name a workspace archive is stored under. */
export function workspaceObject(sha256: string): string {
  return `ws-${sha256}`;
}
