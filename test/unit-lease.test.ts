// The agent's lease, without processes: live only after a coordinator answered a heartbeat
// sent since the connection came up, and only within --lease.
import { describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Lease } from '../agent/lease.js';
import type { Heartbeat } from '../proto/bus.js';
import { createLogger } from '../lib/log.js';

const answering = { request: async () => ({ data: new TextEncoder().encode(JSON.stringify({ ok: true, superseded: [], cancel: [] })) }) } as unknown as NatsConnection;
const hb = (sentAt: number) => (): Heartbeat => ({ node: 'a', instance: 'i1234567', labels: {}, slots: 1, standby: false, version: 't', runs: [], sentAt, leaseLive: false });

function lease(): Lease {
  return new Lease({ node: 'a', leaseMs: 1500, heartbeatMs: 500, log: createLogger({ daemon: 'test' }), runs: { fenceable: () => [], stop: () => true } });
}

describe('Lease.live', () => {
  it('is not live before any answer, live after one, not after --lease without another', async () => {
    const l = lease();
    const now = Date.now();
    expect(l.live(now)).toBe(false);
    await l.heartbeat(answering, hb(now));
    expect(l.live(now + 100)).toBe(true);
    expect(l.live(now + 1600)).toBe(false);
  });

  it('an answer to a heartbeat sent before a reconnect does not make it live', async () => {
    const l = lease();
    const now = Date.now();
    await l.heartbeat(answering, hb(now - 200));
    l.reconnected(now);
    expect(l.live(now + 10)).toBe(false);
    await l.heartbeat(answering, hb(now - 100)); // built before the reconnect, answered after
    expect(l.live(now + 10)).toBe(false);
    await l.heartbeat(answering, hb(now + 5));
    expect(l.live(now + 10)).toBe(true);
  });

  it('"no responders" holds the runs but does not make the lease live for starts', async () => {
    const { RequestError } = await import('@nats-io/transport-node');
    const noResponders = { request: async () => Promise.reject(Object.assign(Object.create(RequestError.prototype), { isNoResponders: () => true })) } as unknown as NatsConnection;
    const l = lease();
    await l.heartbeat(noResponders, hb(Date.now()));
    expect(l.live()).toBe(false);
  });
});

describe('Lease.check', () => {
  function fencing(): { l: Lease; stopped: string[] } {
    const stopped: string[] = [];
    const l = new Lease({
      node: 'a', leaseMs: 1500, heartbeatMs: 500, log: createLogger({ daemon: 'test' }),
      runs: { fenceable: () => [{ job: 'j', stage: 's', attempt: 1 }], stop: (t) => (stopped.push(t.job), true) },
    });
    return { l, stopped };
  }

  it('fences once the lease ran out with nothing heard', () => {
    const { l, stopped } = fencing();
    const t0 = Date.now();
    l.check(t0 + 1000);
    expect(stopped).toEqual([]);
    l.check(t0 + 1600);
    expect(stopped).toEqual(['j']);
  });

  it('a bus that refuses connections holds the runs, and is no start permission', () => {
    const { l, stopped } = fencing();
    const t0 = Date.now();
    l.busRefused(t0 + 1400);
    l.check(t0 + 2800);
    expect(stopped).toEqual([]);
    expect(l.live(t0 + 2800)).toBe(false);
    l.check(t0 + 3000);
    expect(stopped).toEqual(['j']);
  });

  it('a refusal after the runs were fenced does not unfence them', () => {
    const { l, stopped } = fencing();
    const t0 = Date.now();
    l.check(t0 + 1600);
    l.busRefused(t0 + 1700);
    l.check(t0 + 1800);
    expect(stopped).toEqual(['j', 'j']);
  });

  const replying = (body: object) => ({ request: async () => ({ data: new TextEncoder().encode(JSON.stringify(body)) }) }) as unknown as NatsConnection;
  const hold = replying({ ok: true, superseded: [], cancel: [], hold: true });

  it('"hold" from a coordinator taking over keeps the runs, and is no start permission', async () => {
    const { l, stopped } = fencing();
    const t0 = Date.now();
    await l.heartbeat(hold, hb(t0 + 1400));
    l.check(t0 + 2800);
    expect(stopped).toEqual([]);
    expect(l.live(t0 + 1500)).toBe(false);
    l.check(t0 + 3000);
    expect(stopped).toEqual(['j']);
  });

  it('"hold" after the runs were fenced does not unfence them; a full answer does', async () => {
    const { l, stopped } = fencing();
    const t0 = Date.now();
    l.check(t0 + 1600);
    await l.heartbeat(hold, hb(t0 + 1700));
    l.check(t0 + 1800);
    expect(stopped).toEqual(['j', 'j']);
    const now = Date.now();
    await l.heartbeat(answering, hb(now));
    expect(l.live(now + 10)).toBe(true);
  });
});
