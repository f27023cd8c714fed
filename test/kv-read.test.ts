// Reading a whole KV bucket, on a real nats-server: the streamed read (an ordered consumer) and
// the fallback through the stream's leader (one request per message, used when no consumer can
// be made on a cluster with a server down) see the same keys, values and revisions, and leave
// out deleted and purged keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { NatsServer } from '../lib/nats-server.js';
import { readKv, readKvFromLeader, type KvRead } from '../lib/kv-read.js';

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const seen = (rows: KvRead[]) => rows.map((r) => ({ key: r.key, revision: r.revision, value: new TextDecoder().decode(r.data) })).sort((a, b) => a.key.localeCompare(b.key));

describe('readKv', () => {
  for (const history of [1, 5]) {
    it(`both reads agree on a bucket with history ${history}`, async () => {
      const bucket = `t_read_${history}`;
      const kv = await new Kvm(nc).create(bucket, { history });
      for (let i = 0; i < 30; i++) await kv.put(`k${i % 10}`, `v${i}`);
      await kv.delete('k3');
      await kv.purge('k4');
      const streamed: KvRead[] = [];
      const n = await readKv(nc, bucket, (e) => streamed.push(e));
      const led: KvRead[] = [];
      const m = await readKvFromLeader(await jetstreamManager(nc), `KV_${bucket}`, `$KV.${bucket}.`, (e) => led.push(e));
      expect(n).toBe(8);
      expect(m).toBe(8);
      expect(seen(led)).toEqual(seen(streamed));
      expect(seen(streamed).find((r) => r.key === 'k9')).toMatchObject({ value: 'v29' });
      expect(seen(streamed).map((r) => r.key)).not.toContain('k3');
    });
  }
});

describe('readKv with a key filter', () => {
  it('reads only the matching keys, and returns at once when none of the bucket matches', async () => {
    const kv = await new Kvm(nc).create('t_read_keys', { history: 1 });
    for (let i = 0; i < 5; i++) await kv.put(`token.t${i}`, `t${i}`);
    await kv.put('node.a', 'a');
    const nodes: KvRead[] = [];
    expect(await readKv(nc, 't_read_keys', (e) => nodes.push(e), { keys: 'node.>' })).toBe(1);
    expect(seen(nodes)).toEqual([{ key: 'node.a', revision: 6, value: 'a' }]);
    // no key matches: the read does not wait for messages that will never come (its idle
    // limit would fail it after 30 s; 2 s here fails the test if it waits)
    expect(await readKv(nc, 't_read_keys', () => undefined, { keys: 'user.>', idleMs: 2000 })).toBe(0);
    const led: KvRead[] = [];
    expect(await readKvFromLeader(await jetstreamManager(nc), 'KV_t_read_keys', '$KV.t_read_keys.', (e) => led.push(e), 'token.>')).toBe(5);
  });
});

describe('followKv', () => {
  it('takes the present keys, then every update and delete, and no other keys of the bucket', async () => {
    const { followKv } = await import('../lib/kv-follow.js');
    const { silentLogger } = await import('../lib/log.js');
    const kv = await new Kvm(nc).create('t_follow', { history: 1 });
    await kv.put('user.a', '1');
    await kv.put('user.b', '1');
    await kv.put('other.x', '1');
    const now = new Map<string, string>();
    const stop = await followKv(nc, 't_follow', 'user.>', (key, value) => (value === undefined ? now.delete(key) : now.set(key, value)), silentLogger);
    try {
      expect(Object.fromEntries(now)).toEqual({ 'user.a': '1', 'user.b': '1' });
      await kv.put('user.a', '2');
      await kv.delete('user.b');
      await kv.put('user.c', '1');
      await kv.put('other.y', '1');
      const deadline = Date.now() + 10_000;
      while (now.get('user.c') !== '1' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(Object.fromEntries(now)).toEqual({ 'user.a': '2', 'user.c': '1' });
    } finally {
      stop();
    }
  });
});
