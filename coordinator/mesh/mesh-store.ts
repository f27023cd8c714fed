// The mesh's durable state in the JetStream KV bucket `mr_mesh`: one record per member (its
// address, key and desired-set version) and one meta record (epoch, revoked keys).
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { meshMemberRecordSchema, meshMetaRecordSchema, type MeshMemberKind, type MeshMemberRecord, type MeshMetaRecord } from '../../proto/mesh.js';
import { decode } from '../../proto/decode.js';
import { Buckets } from '../../proto/subjects.js';
import { openKv } from '../../lib/nats.js';
import { readKv } from '../../lib/kv-read.js';
import type { Logger } from '../../lib/log.js';

const META_KEY = 'meta';
/** Revoked keys are kept so a removed node's agent cannot walk back in; bounded all the same. */
const MAX_REVOKED = 10_000;

export function memberKey(kind: MeshMemberKind, name: string): string {
  return `member.${kind}.${name}`;
}

export class MeshStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  static async open(nc: NatsConnection, log: Logger): Promise<MeshStore> {
    return new MeshStore(nc, await openKv(nc, Buckets.mesh), log);
  }

  /** The meta record; made on first use with a fresh epoch (a wiped bucket means a new epoch). */
  async loadMeta(): Promise<MeshMetaRecord> {
    const e = await this.kv.get(META_KEY);
    if (e && e.operation === 'PUT') {
      const r = decode(meshMetaRecordSchema, e.value);
      if (r.ok) return r.value;
      this.log.error('damaged mesh meta record replaced; agents will re-apply their peers', { errors: r.errors });
    }
    const meta: MeshMetaRecord = { epoch: randomBytes(8).toString('hex'), revoked: [] };
    await this.saveMeta(meta);
    return meta;
  }

  async saveMeta(meta: MeshMetaRecord): Promise<void> {
    if (meta.revoked.length > MAX_REVOKED) meta.revoked.splice(0, meta.revoked.length - MAX_REVOKED);
    await this.kv.put(META_KEY, JSON.stringify(meta));
  }

  async loadMembers(): Promise<MeshMemberRecord[]> {
    const out: MeshMemberRecord[] = [];
    await readKv(this.nc, Buckets.mesh, (e) => {
      if (!e.key.startsWith('member.')) return;
      const r = decode(meshMemberRecordSchema, e.data);
      if (r.ok) out.push(r.value);
      else this.log.warn('damaged mesh member record skipped', { key: e.key, errors: r.errors });
    });
    return out;
  }

  async saveMember(m: MeshMemberRecord): Promise<void> {
    await this.kv.put(memberKey(m.kind, m.name), JSON.stringify(m));
  }

  async deleteMember(kind: MeshMemberKind, name: string): Promise<void> {
    await this.kv.delete(memberKey(kind, name));
  }
}
