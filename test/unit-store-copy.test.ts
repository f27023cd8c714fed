// The pure parts of `meshrun store copy`: the config a stream is made with on the target, the
// headers a message is republished with, and the verification's comparisons.
import { headers } from '@nats-io/transport-node';
import type { StreamConfig, StreamInfo } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { republishHeaders, targetStreamConfig } from '../coordinator/stream-copy.js';
import { checkCounts, compareDigests } from '../coordinator/store-verify.js';

describe('targetStreamConfig', () => {
  it('keeps the limits, sets the replicas, drops what a create refuses or what names the source\'s layout', () => {
    const src = { name: 'KV_mr_jobs', subjects: ['$KV.mr_jobs.>'], max_bytes: 1024, max_msgs_per_subject: 1, discard: 'new', duplicate_window: 120e9, allow_rollup_hdrs: true, num_replicas: 1, sealed: false, placement: { cluster: 'old' } } as unknown as StreamConfig;
    const { config, dropped } = targetStreamConfig(src, 3);
    expect(config).toEqual({ name: 'KV_mr_jobs', subjects: ['$KV.mr_jobs.>'], max_bytes: 1024, max_msgs_per_subject: 1, discard: 'new', duplicate_window: 120e9, allow_rollup_hdrs: true, num_replicas: 3 });
    expect(dropped).toEqual(['placement']);
    expect(targetStreamConfig({ ...src, sealed: true, mirror: { name: 'x' } } as StreamConfig, 1).dropped).toEqual(['sealed', 'mirror', 'placement']);
  });
});

describe('republishHeaders', () => {
  it('drops the Nats-Expected-* headers stored with a message and keeps every other', () => {
    const h = headers();
    h.set('KV-Operation', 'PURGE');
    h.set('Nats-Rollup', 'sub');
    h.set('Nats-Msg-Id', 'agent-1-42');
    h.set('Nats-Expected-Last-Subject-Sequence', '17');
    h.set('nats-expected-last-sequence', '3');
    const out = republishHeaders(h)!;
    expect(out.keys().sort()).toEqual(['KV-Operation', 'Nats-Msg-Id', 'Nats-Rollup']);
    expect(out.get('KV-Operation')).toBe('PURGE');
    const only = headers();
    only.set('Nats-Expected-Last-Subject-Sequence', '17');
    expect(republishHeaders(only)).toBeUndefined();
    expect(republishHeaders(undefined)).toBeUndefined();
  });
});

describe('verification', () => {
  it('names keys missing on the target, with another value, and only on the target', () => {
    const src = new Map([['$KV.b.a', '1'], ['$KV.b.b', '2'], ['$KV.b.c', '3']]);
    expect(compareDigests(src, new Map(src))).toEqual([]);
    expect(compareDigests(src, new Map([['$KV.b.a', '1'], ['$KV.b.b', 'x'], ['$KV.b.d', '4']]))).toEqual([
      '1 key(s) missing on the target: $KV.b.c',
      '1 key(s) with another value on the target: $KV.b.b',
      '1 key(s) only on the target: $KV.b.d',
    ]);
  });

  it('counts: the target must hold what was copied, and the source must not have changed meanwhile', () => {
    const info = (messages: number, last: number, replicas = 1): StreamInfo => ({ config: { name: 'MR_LOGS', subjects: ['mr.out.>'], num_replicas: replicas }, state: { messages, last_seq: last } }) as unknown as StreamInfo;
    expect(checkCounts({ before: info(10, 10), after: info(10, 10), target: info(10, 10, 3), expected: 10, replicas: 3 })).toEqual([]);
    const p = checkCounts({ before: info(10, 10), after: info(12, 12), target: info(9, 9), expected: 10, replicas: 3 });
    expect(p[0]).toMatch(/the source changed during the copy \(10 messages up to sequence 10 when it started, 12 up to 12 now\)/);
    expect(p.slice(1)).toEqual(['9 messages on the target, 10 expected', '1 replicas on the target, 3 asked for']);
    // the lease bucket changes under the copy by design (it holds the lease itself)
    expect(checkCounts({ before: info(1, 1), after: info(3, 3), target: info(0, 0), expected: 0, replicas: 1, sourceMayChange: true })).toEqual([]);
    expect(checkCounts({ before: info(1, 1), after: info(1, 1), target: undefined, expected: 1, replicas: 1 })).toEqual(['missing on the target']);
  });
});
