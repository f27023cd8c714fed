// The leader-lease probe `meshrun store copy` refuses on, without a server: free when there is
// no entry or it was released, live when it is renewed while watched, lapsed when a whole lease
// passes without a renewal or its holder on this machine is gone.
import type { KV, KvEntry } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { probeLease } from '../coordinator/leader-probe.js';
import { machineId, type LeaderRecord } from '../coordinator/leadership.js';

const record = (over: Partial<LeaderRecord> = {}): LeaderRecord => ({ id: 'c0ffee', address: '10.0.0.5:7433', pid: process.pid, host: 'elsewhere', machine: 'another-machine', since: 1, leaseMs: 300, ...over });

/** A KV whose `leader` entry is whatever `entries` yields next (the last one repeats). */
function kvOf(...entries: (Partial<KvEntry> | null)[]): KV {
  let i = 0;
  return {
    get: async () => {
      const e = entries[Math.min(i++, entries.length - 1)];
      return e ? ({ operation: 'PUT', ...e } as KvEntry) : null;
    },
  } as unknown as KV;
}

const put = (revision: number, r: LeaderRecord | string): Partial<KvEntry> => ({ revision, operation: 'PUT', string: () => (typeof r === 'string' ? r : JSON.stringify(r)) });

describe('probeLease', () => {
  it('is free without an entry, and after a graceful release (a delete marker)', async () => {
    expect(await probeLease(kvOf(null))).toEqual({ state: 'free', revision: 0 });
    expect(await probeLease(kvOf({ revision: 7, operation: 'DEL' }))).toEqual({ state: 'free', revision: 7 });
  });

  it('is live when the entry is renewed while watched, and names the holder', async () => {
    const r = await probeLease(kvOf(put(3, record()), put(3, record()), put(4, record())));
    expect(r).toMatchObject({ state: 'live', revision: 4, holder: { id: 'c0ffee', address: '10.0.0.5:7433' } });
    // an unreadable record that is renewed is a running coordinator too
    expect(await probeLease(kvOf(put(3, 'garbage'), put(4, 'garbage')))).toMatchObject({ state: 'live', holder: undefined });
  });

  it('is free when released while watched', async () => {
    expect(await probeLease(kvOf(put(3, record()), { revision: 4, operation: 'DEL' }))).toMatchObject({ state: 'free', revision: 4 });
  });

  it('is lapsed after a whole lease without a renewal (the holder\'s own lease length)', async () => {
    const t0 = Date.now();
    const r = await probeLease(kvOf(put(3, record({ leaseMs: 300 }))));
    expect(r).toMatchObject({ state: 'lapsed', revision: 3, holder: { id: 'c0ffee' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('is lapsed at once when the holder ran on this machine and its process is gone', async () => {
    const t0 = Date.now();
    const r = await probeLease(kvOf(put(3, record({ machine: machineId(), pid: 999_999_999, leaseMs: 60_000 }))));
    expect(r).toMatchObject({ state: 'lapsed', why: 'is gone (no process 999999999 on this machine)' });
    expect(Date.now() - t0, 'well short of the holder\'s 60 s lease').toBeLessThan(30_000);
  });
});
