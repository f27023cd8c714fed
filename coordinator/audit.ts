// The audit trail: one record per mutating or refused gRPC call, in a JetStream stream of its
// own (file storage, bounded by age and size, oldest dropped first), so it survives the
// coordinator and every coordinator writes to the same trail.
import type { NatsConnection } from '@nats-io/transport-node';
import { applyLimits, orderedConsumer, replicasOf } from '../lib/nats.js';
import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { auditEntrySchema, type AuditEntry } from '../proto/audit.js';
import { decode } from '../proto/decode.js';
import { Streams, Subjects } from '../proto/subjects.js';
import type { Logger } from '../lib/log.js';

export const AUDIT_LIMITS = {
  maxAgeMs: 400 * 86_400_000,
  maxBytes: 1024 * 1024 * 1024,
  /** Records one `meshrun audit` returns at most (the newest). */
  maxList: 100_000,
  defaultList: 1000,
} as const;

export class AuditLog {
  private js: JetStreamClient | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const config = {
      name: Streams.audit,
      subjects: [Subjects.audit],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: AUDIT_LIMITS.maxAgeMs * 1_000_000,
      max_bytes: AUDIT_LIMITS.maxBytes,
      max_msg_size: 8 * 1024,
      num_replicas: replicasOf(this.nc),
    };
    try {
      await applyLimits(this.nc, Streams.audit, AUDIT_LIMITS.maxBytes);
    } catch {
      await jsm.streams.add(config).catch(async (err) => {
        // another coordinator created it meanwhile
        await jsm.streams.info(Streams.audit).catch(() => {
          throw err;
        });
      });
    }
    this.js = jetstream(this.nc);
  }

  /** Writes one record; a failure is logged with the record, never lost silently, never thrown at the caller. */
  record(entry: AuditEntry): void {
    const js = this.js;
    if (!js) return void this.log.error('audit record before the audit log started', { audit: entry });
    js.publish(Subjects.audit, JSON.stringify(entry)).catch((err) => this.log.error('audit record not stored', { err, audit: entry }));
  }

  /** The newest `limit` records at or after `sinceMs`, oldest first. */
  async list(sinceMs: number, limit: number): Promise<AuditEntry[]> {
    const want = Math.min(limit > 0 ? limit : AUDIT_LIMITS.defaultList, AUDIT_LIMITS.maxList);
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(Streams.audit);
    if (info.state.messages === 0 || Date.parse(info.state.last_ts) < sinceMs) return [];
    const consumer = await orderedConsumer(this.nc, Streams.audit, sinceMs > 0 ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(sinceMs).toISOString() } : {});
    const out: AuditEntry[] = [];
    const messages = await consumer.consume({ max_messages: 256 });
    for await (const m of messages) {
      const r = decode(auditEntrySchema, m.data);
      if (r.ok) {
        out.push(r.value);
        // keep only the newest `want`: drop in halves, so this stays linear in the records read
        if (out.length >= want * 2) out.splice(0, out.length - want);
      }
      if (m.info.pending === 0 || m.seq >= info.state.last_seq) break;
    }
    await messages.close().catch(() => undefined);
    return out.slice(-want);
  }
}
