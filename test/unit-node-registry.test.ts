// What a heartbeat changes in the coordinator's node registry: a registration (placement and
// `meshrun nodes` see something new) only when the node advertises something new; the stored
// record's periodic refresh is a write, not a registration.
import { describe, expect, it } from 'vitest';
import type { Heartbeat } from '../proto/bus.js';
import { NodeRegistry, RECORD_REFRESH_MS, refreshAfterMs, sameLabels } from '../coordinator/node-registry.js';

const hb = (over: Partial<Heartbeat> = {}): Heartbeat => ({
  node: 'alpha',
  instance: 'aaaaaaaaaaaaaaaa',
  labels: { zone: 'a', role: 'web' },
  slots: 4,
  standby: false,
  version: '0.1.0',
  runs: [],
  sentAt: 0,
  leaseLive: true,
  runRoot: '/var/lib/meshrun/runs',
  ...over,
});

const registry = (): NodeRegistry => new NodeRegistry({ suspectAfterMs: 1500, downAfterMs: 3500 });

describe('node registry: heartbeats', () => {
  it('a new node is a registration, written at once', () => {
    const r = registry();
    expect(r.seen(hb(), 1000)).toMatchObject({ changed: true, persist: true, instanceChanged: false });
    expect(r.entries.get('alpha')?.record).toMatchObject({ name: 'alpha', slots: 4, lastSeenAt: 1000 });
  });

  it('an ordinary heartbeat changes nothing durable, only when the node was last heard', () => {
    const r = registry();
    const first = r.seen(hb(), 1000).entry;
    const record = first.record;
    const { entry, changed, persist } = r.seen(hb(), 1500);
    expect({ changed, persist }).toEqual({ changed: false, persist: false });
    expect(entry).toBe(first);
    expect(entry.record).toBe(record);
    expect(entry.lastSeenAt).toBe(1500);
  });

  it('the stored record is written again (lastSeenAt) after 5 to 10 minutes, by name, without counting as a registration', () => {
    const r = registry();
    r.seen(hb(), 0);
    const due = refreshAfterMs('alpha');
    expect(due).toBeGreaterThanOrEqual(RECORD_REFRESH_MS);
    expect(due).toBeLessThan(2 * RECORD_REFRESH_MS);
    expect(r.seen(hb(), due).persist).toBe(false);
    const later = r.seen(hb(), due + 1);
    expect(later).toMatchObject({ changed: false, persist: true });
    expect(later.entry.record.lastSeenAt).toBe(due + 1);
    expect(r.seen(hb(), due + 500).persist).toBe(false);
  });

  it('a fleet registered in one burst is not rewritten in one: the refreshes spread over the interval', () => {
    const dues = Array.from({ length: 10_000 }, (_, i) => refreshAfterMs(`sim-${String(i).padStart(5, '0')}`) - RECORD_REFRESH_MS);
    const buckets = new Array<number>(10).fill(0);
    for (const d of dues) buckets[Math.floor((d / RECORD_REFRESH_MS) * 10)]!++;
    // each tenth of the interval gets about a tenth of the nodes
    for (const b of buckets) expect(b).toBeGreaterThan(700);
  });

  it('what the node advertises changing is a registration; the same labels in another order are not', () => {
    const r = registry();
    r.seen(hb(), 1000);
    expect(r.seen(hb({ labels: { role: 'web', zone: 'a' } }), 1100).changed).toBe(false);
    expect(r.seen(hb({ slots: 8 }), 1200).changed).toBe(true);
    expect(r.seen(hb({ slots: 8, labels: { zone: 'b', role: 'web' } }), 1300).changed).toBe(true);
    const wiped = r.seen(hb({ slots: 8, labels: { zone: 'b', role: 'web' }, instance: 'bbbbbbbbbbbbbbbb' }), 1400);
    expect(wiped).toMatchObject({ changed: true, persist: true, instanceChanged: true });
  });

  it('the runs a node reports are kept until a heartbeat reports none', () => {
    const r = registry();
    const token = { job: 'j1', stage: 'run', attempt: 1 };
    r.seen(hb({ runs: [{ token, state: 'running' }] }), 1000);
    expect([...r.entries.get('alpha')!.reported]).toEqual(['j1/run/1']);
    r.seen(hb({ runs: [{ token, state: 'exited' }] }), 1500);
    expect(r.entries.get('alpha')!.reported.size).toBe(0);
    r.seen(hb(), 2000);
    expect(r.entries.get('alpha')!.reported.size).toBe(0);
  });

  it('a drain flag survives the record being written again', () => {
    const r = registry();
    r.seen(hb(), 1000);
    r.entries.get('alpha')!.record.draining = true;
    expect(r.seen(hb({ slots: 2 }), 1100).entry.record.draining).toBe(true);
  });
});

describe('sameLabels', () => {
  it('compares keys and values, not their order', () => {
    expect(sameLabels({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameLabels({ a: '1' }, { a: '1', b: '2' })).toBe(false);
    expect(sameLabels({ a: '1', b: '2' }, { a: '1' })).toBe(false);
    expect(sameLabels({ a: '1' }, { a: '2' })).toBe(false);
    expect(sameLabels({}, {})).toBe(true);
  });
});
