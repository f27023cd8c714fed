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

const ACK_WAIT_NS = 30_000_000_000;
const MAX_ACK_PENDING = 1000;
const BATCH = 200;
const NAK_DELAY_MS = 1000;

export interface EventConsumer {
  stop(): void;
}

export async function consumeRunEvents(nc: NatsConnection, js: JetStreamClient, apply: (ev: RunEvent) => Promise<void>, log: Logger): Promise<EventConsumer> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(Streams.events, Durables.coordinatorEvents);
  } catch {
    await jsm.consumers.add(Streams.events, {
      durable_name: Durables.coordinatorEvents,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ACK_WAIT_NS,
      max_ack_pending: MAX_ACK_PENDING,
    });
  }
  const consumer = await js.consumers.get(Streams.events, Durables.coordinatorEvents);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: BATCH });
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
      try {
        await apply(rec.value.event);
        m.ack();
      } catch (err) {
        log.error('run event not applied; will be redelivered', { err });
        m.nak(NAK_DELAY_MS);
      }
    }
  })().catch((err) => log.error('event consumer stopped', { err }));
  return { stop: () => void messages.stop() };
}
