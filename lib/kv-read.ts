// Reads a whole KV bucket in one ordered stream read (an ordered consumer over the bucket's
// stream, the last message of each key) instead of one request per key: 100,000 keys read
// one `get` at a time take about a millisecond each over TLS; streamed, a second or two.
import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstreamManager, type ConsumerMessages, type JetStreamManager } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { firstMessageFrom, orderedConsumer } from './nats.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, MeshrunError } from './errors.js';

export interface KvRead {
  key: string;
  /** The entry's revision (its stream sequence), as `kv.get` would give it. */
  revision: number;
  /** The value; empty when read with `headersOnly`. */
  data: Uint8Array;
}

export interface ReadKvOptions {
  /** Keys and revisions only, not values (much less to move when only the keys are needed). */
  headersOnly?: boolean;
  /** No message for this long while more were announced: the read fails. @default 30000 */
  idleMs?: number;
  /** Only the keys matching this (a NATS subject pattern within the bucket: `user.>`). @default '>' */
  keys?: string;
}

/** Calls `each` for every key that holds a value (deleted and purged keys are left out); resolves with how many. */
export async function readKv(nc: NatsConnection, bucket: string, each: (e: KvRead) => void, o: ReadKvOptions = {}): Promise<number> {
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  if (info.state.messages === 0) return 0;
  // a bucket without history holds only each key's last message: read in stream order, which
  // spares the server finding the last of each subject first
  const deliver = info.config.max_msgs_per_subject === 1 ? DeliverPolicy.All : DeliverPolicy.LastPerSubject;
  // made with retries: on a cluster with a server down, nats-server 2.9 may place it there;
  // when it keeps landing there, the stream's leader is asked message by message instead
  let consumer;
  try {
    consumer = await orderedConsumer(nc, stream, { filter_subjects: `${prefix}${o.keys ?? '>'}`, deliver_policy: deliver, headers_only: o.headersOnly ?? false }, CONSUMER_TRIES);
  } catch (err) {
    if (!(err instanceof errors.TimeoutError)) throw err;
    return readKvFromLeader(jsm, stream, prefix, each, o.keys);
  }
  // none of the bucket's messages matches the keys asked for: nothing will come (the consumer's
  // info from its creation counts what it has to deliver)
  if ((await consumer.info(true)).num_pending === 0) return 0;
  let messages: ConsumerMessages | undefined;
  let idle: NodeJS.Timeout | undefined;
  let stalled = false;
  const idleMs = o.idleMs ?? 30_000;
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      stalled = true;
      messages?.stop();
    }, idleMs);
  };
  let n = 0;
  try {
    messages = await consumer.consume({ max_messages: 1000 });
    arm();
    for await (const m of messages) {
      arm();
      const op = m.headers?.get('KV-Operation');
      if (op !== 'DEL' && op !== 'PURGE') {
        each({ key: m.subject.slice(prefix.length), revision: m.seq, data: m.data });
        n++;
      }
      if (m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(idle);
    messages?.stop();
  }
  if (stalled) throw new MeshrunError(ErrorCode.Unreachable, `reading KV bucket ${bucket}: no message for ${idleMs} ms after ${n} keys`);
  return n;
}

/** Ordered consumer creations tried before reading through the stream's leader instead. */
const CONSUMER_TRIES = 3;

/**
 * The same read without a consumer: one request per message to the stream's leader (a request
 * each, so slow for big buckets - only when no consumer could be made). Keeps each key's last.
 */
export async function readKvFromLeader(jsm: JetStreamManager, stream: string, prefix: string, each: (e: KvRead) => void, keys = '>'): Promise<number> {
  const last = new Map<string, KvRead & { gone: boolean }>();
  for (let seq = 1; ; ) {
    const m = await firstMessageFrom(jsm, stream, seq, `${prefix}${keys}`).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return null;
      throw err;
    });
    if (!m) break;
    const op = m.header?.get('KV-Operation');
    last.set(m.subject.slice(prefix.length), { key: m.subject.slice(prefix.length), revision: m.seq, data: m.data, gone: op === 'DEL' || op === 'PURGE' });
    seq = m.seq + 1;
  }
  let n = 0;
  for (const e of last.values()) {
    if (e.gone) continue;
    each({ key: e.key, revision: e.revision, data: e.data });
    n++;
  }
  return n;
}
