// Follows a KV bucket's keys into memory: updates first, then what is already there, so nothing
// written in between is missed; revisions keep an older read from replacing a newer update.
import { KvWatchInclude, type KV } from '@nats-io/kv';
import type { Logger } from './log.js';

/** `value` is the entry's text, or undefined when the key was deleted or purged. */
export type KvChange = (key: string, value: string | undefined) => void;

export async function followKv(kv: KV, filter: string, onChange: KvChange, log: Logger): Promise<() => void> {
  const revisions = new Map<string, number>();
  const take = (key: string, operation: string, revision: number, text: () => string): void => {
    if ((revisions.get(key) ?? 0) >= revision) return;
    revisions.set(key, revision);
    onChange(key, operation === 'PUT' ? text() : undefined);
  };
  const iter = await kv.watch({ key: filter, include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const e of iter) take(e.key, e.operation, e.revision, () => e.string());
  })().catch((err) => log.error('stopped following a KV bucket', { err, filter }));
  for await (const key of await kv.keys(filter)) {
    const e = await kv.get(key);
    if (e) take(e.key, e.operation, e.revision, () => e.string());
  }
  return () => iter.stop();
}
