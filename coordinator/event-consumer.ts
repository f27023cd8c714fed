// The coordinator's durable JetStream consumer of run events: each event is decoded,
// applied in order and acked only once applied, so a coordinator killed mid-event gets
// it again. A malformed event, or one naming another node than its subject, is terminated
// (never redelivered) and reported.
import { AckPolicy, DeliverPolicy, jetstreamManager, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { outboxRecordSchema, type RunEvent } from '../proto/bus.js';
import { decode } from '../proto/decode.js';
import { Durables, Streams, Subjects } from '../proto/subjects.js';
import type { Logger } from '../lib/log.js';

/**
 * Events handed to a coordinator that died before acking them (its pull request may still be
 * served after its death) come back after this long. Short: a run's exit delayed by 30 s let a
 * node go down meanwhile and a completed stage run again. Applying an event takes milliseconds,
 * and one delivered twice is applied once (the job machine ignores what it has already seen).
 */
const ACK_WAIT_NS = 5_000_000_000;
/** A pull request outlives its coordinator at most this long. */
const PULL_EXPIRES_MS = 3000;
const MAX_ACK_PENDING = 1000;
const BATCH = 64;
const NAK_DELAY_MS = 1000;

export interface EventConsumer {
  stop(): void;
}

/**
 * `apply` takes events one at a time, in order; the `durable` it returns resolves once what the
 * event changed is stored, and only then is the event acked. The next event is applied meanwhile
 * (acks go out of order; at most MAX_ACK_PENDING are outstanding, the server's bound).
 */
export async function consumeRunEvents(nc: NatsConnection, js: JetStreamClient, apply: (ev: RunEvent) => Promise<{ durable: Promise<void> }>, log: Logger): Promise<EventConsumer> {
  const jsm = await jetstreamManager(nc);
  const existing = await jsm.consumers.info(Streams.events, Durables.coordinatorEvents).catch(() => undefined);
  // one made by an older meshrun, with a longer ack wait
  if (existing && existing.config.ack_wait !== ACK_WAIT_NS) await jsm.consumers.update(Streams.events, Durables.coordinatorEvents, { ack_wait: ACK_WAIT_NS });
  if (!existing) {
    await jsm.consumers.add(Streams.events, {
      durable_name: Durables.coordinatorEvents,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ACK_WAIT_NS,
      max_ack_pending: MAX_ACK_PENDING,
    });
  }
  const consumer = await js.consumers.get(Streams.events, Durables.coordinatorEvents);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: BATCH, expires: PULL_EXPIRES_MS });
  void (async () => {
    for await (const m of messages) {
      const rec = decode(outboxRecordSchema, m.data);
      if (!rec.ok) {
        log.warn('invalid run event dropped', { subject: m.subject, errors: rec.errors.slice(0, 5) });
        m.term();
        continue;
      }
      // the server let only that node publish on mr.evt.<node>: an event naming another is forged
      if (m.subject !== Subjects.runEvents(rec.value.event.node)) {
        log.warn('run event naming another node than its subject dropped', { subject: m.subject, node: rec.value.event.node, kind: rec.value.event.kind });
        m.term();
        continue;
      }
      const nak = (err: unknown): void => {
        log.error('run event not applied; will be redelivered', { err });
        m.nak(NAK_DELAY_MS);
      };
      try {
        const { durable } = await apply(rec.value.event);
        durable.then(() => m.ack(), nak);
      } catch (err) {
        nak(err);
      }
    }
  })().catch((err) => log.error('event consumer stopped', { err }));
  return { stop: () => void messages.stop() };
}
