// Follows a KV bucket's keys into memory: updates first, then what is already there, so nothing
// written in between is missed; revisions keep an older read from replacing a newer update.
//
// Both halves go through meshrun's own reads, not kv.watch()/kv.keys(): those make one consumer
// each, with one replica and no second try, and on a nats-server 2.9 cluster with a server cut
// off the consumer is often placed on that server and its creation times out - a coordinator
// taking over after a machine was cut off kept failing its start for a minute (CI). Here the
// updates come from an ordered consumer made with retries (it makes itself again if its server
// goes), and the present keys from readKv (retries, then the stream's leader message by message).
import { DeliverPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { readKv } from './kv-read.js';
import { orderedConsumer } from './nats.js';
import type { Logger } from './log.js';

/** `value` is the entry's text, or undefined when the key was deleted or purged. */
export type KvChange = (key: string, value: string | undefined) => void;

/** Follows `keys` (a pattern within the bucket: `user.>`) of a bucket that exists; resolves once every present key was taken. */
export async function followKv(nc: NatsConnection, bucket: string, keys: string, onChange: KvChange, log: Logger): Promise<() => void> {
  const prefix = `$KV.${bucket}.`;
  const revisions = new Map<string, number>();
  const decoder = new TextDecoder();
  const take = (key: string, gone: boolean, revision: number, data: Uint8Array): void => {
    if ((revisions.get(key) ?? 0) >= revision) return;
    revisions.set(key, revision);
    onChange(key, gone ? undefined : decoder.decode(data));
  };
  const consumer = await orderedConsumer(nc, `KV_${bucket}`, { filter_subjects: `${prefix}${keys}`, deliver_policy: DeliverPolicy.New });
  const updates = await consumer.consume();
  void (async () => {
    for await (const m of updates) {
      const op = m.headers?.get('KV-Operation');
      take(m.subject.slice(prefix.length), op === 'DEL' || op === 'PURGE', m.seq, m.data);
    }
  })().catch((err) => log.error('stopped following a KV bucket', { err, bucket, keys }));
  try {
    await readKv(nc, bucket, (e) => take(e.key, false, e.revision, e.data), { keys });
  } catch (err) {
    updates.stop();
    throw err;
  }
  return () => updates.stop();
}
