// Copies one JetStream stream's messages to another server: read in order with an ordered
// consumer (the server pushes batches; no request per message), republished with their subject
// and headers, with a bounded number of publish acks in flight. Used by `meshrun store copy`.
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { PublishWindow } from '../lib/publish-window.js';
import { firstMessageFrom } from '../lib/nats.js';

/** Publishes awaiting their ack at once: enough to keep the pipe full, bounded in memory. */
const MAX_IN_FLIGHT = 1024;
const ACK_TIMEOUT_MS = 30_000;
/** About this many bytes are asked of the source per pull (by count, from the stream's mean message size). */
const PULL_BYTES = 8 * 1024 * 1024;
const MIN_BATCH = 16;
const MAX_BATCH = 1024;
/** No message from the source for this long while some are still due: give up. */
const IDLE_MS = 30_000;

export interface CopyCount {
  messages: number;
  /** Payload bytes (headers not counted). */
  bytes: number;
  /** Refused by the target's duplicate window: a `Nats-Msg-Id` already stored by an earlier message. */
  duplicates: number;
}

/**
 * The source's config as a create on the target takes it: `num_replicas` as asked, and without
 * what a create refuses or what names the source's own layout (a sealed flag, mirrors and
 * sources, the placement in the source's cluster). Returns the fields it dropped.
 */
export function targetStreamConfig(src: StreamConfig, replicas: number): { config: StreamConfig; dropped: string[] } {
  const config = { ...src, num_replicas: replicas } as StreamConfig & Record<string, unknown>;
  const dropped: string[] = [];
  for (const k of ['sealed', 'mirror', 'sources', 'placement'] as const) {
    const v = config[k];
    if (v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0)) dropped.push(k);
    delete config[k];
  }
  return { config, dropped };
}

/**
 * A stored message's headers as they are republished: all but `Nats-Expected-*`, which the
 * server stores with a message but which name the source's sequences (a KV update carries
 * `Nats-Expected-Last-Subject-Sequence`) and would make the target refuse it.
 */
export function republishHeaders(h: MsgHdrs | undefined): MsgHdrs | undefined {
  if (!h) return undefined;
  let out: MsgHdrs | undefined;
  for (const [k, values] of h) {
    if (k.toLowerCase().startsWith('nats-expected-')) continue;
    out ??= headers();
    for (const v of values) out.append(k, v);
  }
  return out;
}

export interface CopyRange {
  stream: string;
  /** The first sequence to copy (messages before it are not). */
  fromSeq: number;
  /** The last sequence to copy: the source's last when the copy was planned (later ones are not). */
  toSeq: number;
}

/** Copies the messages of `range` from the source stream into the target (which holds the same subjects). */
export async function copyMessages(src: { js: JetStreamClient; jsm: JetStreamManager }, dst: NatsConnection, range: CopyRange & { avgBytes: number }): Promise<CopyCount> {
  const count: CopyCount = { messages: 0, bytes: 0, duplicates: 0 };
  if (range.fromSeq > range.toSeq) return count;
  // where the range really starts: it may begin in a gap (purged or deleted messages), or hold nothing
  const first = await firstMessageFrom(src.jsm, range.stream, range.fromSeq, '>');
  if (!first || first.seq > range.toSeq) return count;

  const consumer = await src.js.consumers.get(range.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: first.seq });
  // pulls sized by message count (a pull sized in bytes lost messages on nats-server 2.9.10)
  const batch = Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.floor(PULL_BYTES / Math.max(1, range.avgBytes))));
  const messages = await consumer.consume({ max_messages: batch });
  const out = new PublishWindow(dst, { maxInFlight: MAX_IN_FLIGHT, ackTimeoutMs: ACK_TIMEOUT_MS, label: range.stream });
  let failure: Error | undefined;
  let lastSeen = Date.now();
  let at = first.seq - 1;
  const idle = setInterval(() => {
    if (Date.now() - lastSeen < IDLE_MS) return;
    failure ??= new Error(`${range.stream}: no message from the source for ${IDLE_MS / 1000} s after sequence ${at} (copying up to ${range.toSeq})`);
    void messages.close();
  }, 1000);
  try {
    for await (const m of messages) {
      lastSeen = Date.now();
      if (m.seq > range.toSeq) break;
      at = m.seq;
      await out.publish(m.subject, m.data, republishHeaders(m.headers), m.seq);
      lastSeen = Date.now(); // a slow target is the window's to judge (its ack timeout), not this
      count.messages += 1;
      count.bytes += m.data.length;
      if (m.seq >= range.toSeq || m.info.pending === 0) break;
    }
    await out.flush();
  } finally {
    clearInterval(idle);
    out.close();
    await messages.close().catch(() => undefined);
    // closing leaves the ordered consumer on the server until it is idle for minutes
    await consumer.delete().catch(() => undefined);
  }
  if (failure) throw failure;
  count.duplicates = out.duplicates;
  return count;
}
