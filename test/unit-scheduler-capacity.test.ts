// Unit tests for capacity-aware placement: a stage with a resource request goes only where
// that much is unallocated, waits with a reason that says what is missing (and tells "wait"
// from "never"), slots still limit, and a waiting heavy stage holds up nothing behind it.

import { describe, expect, it } from 'vitest';
import { activeAttempts, advance, newJobRecord, step } from '../coordinator/job-machine.js';
import { book, place, type NodeView, type PlacementResult } from '../coordinator/scheduler.js';
import { jobSpecSchema, stageRequest, type StageSpec } from '../proto/job-spec.js';
import { cpuToMilli, formatMemory, formatResources, parseMemory, type Resources } from '../proto/resources.js';

const GiB = 2 ** 30;
const res = (cpu: number, memGiB = 0): Resources => ({ cpu: cpuToMilli(cpu), memory: Math.round(memGiB * GiB) });

/** A ready node with `cpu` CPUs and `memGiB` allocatable, nothing allocated. */
function node(name: string, cpu: number, memGiB: number, over: Partial<NodeView> = {}): NodeView {
  return { name, labels: { heavy: 'true' }, slots: 4, standby: false, draining: false, removed: false, state: 'ready', running: 0, allocatable: res(cpu, memGiB), allocated: res(0), ...over };
}

const heavy = { labels: { heavy: 'true' } };

describe('place with a resource request', () => {
  it('goes only to a node with that much unallocated', () => {
    const fleet = [node('runner1', 8, 32), node('big', 32, 128)];
    expect(place(heavy, fleet, res(16, 64))).toEqual({ ok: true, node: 'big' });
  });

  it('waits with what it needs and the largest free node', () => {
    const fleet = [node('runner1', 8, 32, { allocated: res(0, 1) }), node('big', 32, 128, { allocated: res(24, 100), running: 1 })];
    // runner1 could never hold 16 cpu: the node the stage waits for is big
    expect(place(heavy, fleet, res(16, 64))).toEqual({ ok: false, reason: 'needs 16 cpu / 64 GiB; largest free: big 8 cpu / 28 GiB' });
    const r = place(heavy, [node('runner1', 8, 31.5)], res(4, 64));
    expect(r).toEqual({ ok: false, reason: 'needs 4 cpu / 64 GiB; no node with labels heavy=true is that large (largest: runner1 8 cpu / 31.5 GiB allocatable)' });
  });

  it('names only the dimensions it asks for', () => {
    const fleet = [node('a', 2, 8, { allocated: res(1.5, 0) }), node('b', 2, 8, { allocated: res(1, 0) })];
    expect(place(heavy, fleet, res(2))).toEqual({ ok: false, reason: 'needs 2 cpu; largest free: b 1 cpu' });
    expect(place(heavy, [node('a', 2, 8, { allocated: res(0, 7.5) })], { cpu: 0, memory: GiB })).toEqual({ ok: false, reason: 'needs 1 GiB; largest free: a 512 MiB' });
  });

  it('never: no node with the labels is that large, whatever runs now, and the reason says the largest total', () => {
    const fleet = [node('runner1', 8, 31, { state: 'down' }), node('runner2', 4, 16), node('other', 64, 256, { labels: {} })];
    expect(place(heavy, fleet, res(16, 64))).toEqual({ ok: false, reason: 'needs 16 cpu / 64 GiB; no node with labels heavy=true is that large (largest: runner1 8 cpu / 31 GiB allocatable)' });
  });

  it('wait, not never, when the only node large enough is not ready', () => {
    const fleet = [node('small', 2, 4), node('big', 32, 128, { state: 'down' })];
    expect(place(heavy, fleet, res(16, 64))).toEqual({ ok: false, reason: 'no ready node with labels heavy=true large enough for 16 cpu / 64 GiB (big is down)' });
  });

  it('fractional cpu adds up exactly: ten stages of 0.1 fill one cpu, the eleventh waits', () => {
    const fleet = [node('a', 1, 1, { slots: 100 })];
    const tenth = res(0.1);
    for (let i = 0; i < 10; i++) {
      const r = place(heavy, fleet, tenth);
      expect(r).toEqual({ ok: true, node: 'a' });
      book(fleet, 'a', tenth);
    }
    expect(fleet[0]!.allocated).toEqual({ cpu: 1000, memory: 0 });
    expect(place(heavy, fleet, tenth)).toEqual({ ok: false, reason: 'needs 0.1 cpu; largest free: a 0 cpu' });
    expect(place(heavy, [node('b', 1, 1)], res(0.25))).toEqual({ ok: true, node: 'b' });
  });

  it('slots still limit: a node with capacity but no free slot takes nothing', () => {
    const fleet = [node('big', 32, 128, { slots: 2, running: 2 })];
    expect(place(heavy, fleet, res(1))).toEqual({ ok: false, reason: 'every ready node with labels heavy=true is busy (big 2/2)' });
    expect(place(heavy, fleet)).toEqual({ ok: false, reason: 'every ready node with labels heavy=true is busy (big 2/2)' });
    expect(place({ node: 'big' }, fleet, res(1))).toEqual({ ok: false, reason: 'node big has no free slot (2/2 running)' });
  });

  it('a stage without a request ignores cpu and memory, even on a node that is full of them', () => {
    const fleet = [node('big', 8, 32, { allocated: res(8, 32), running: 1 })];
    expect(place(heavy, fleet)).toEqual({ ok: true, node: 'big' });
  });

  it('packs: the node it leaves least free wins, so the large node stays free for a large request', () => {
    const fleet = [node('big', 32, 128), node('small', 4, 16)];
    expect(place(heavy, fleet, res(2, 8))).toEqual({ ok: true, node: 'small' });
    book(fleet, 'small', res(2, 8));
    expect(place(heavy, fleet, res(2, 8))).toEqual({ ok: true, node: 'small' });
    book(fleet, 'small', res(2, 8));
    expect(place(heavy, fleet, res(2, 8))).toEqual({ ok: true, node: 'big' });
  });

  it('a node that shrank below what it holds takes nothing more (and nothing is taken from it)', () => {
    const fleet = [node('a', 4, 8, { allocated: res(6, 4), running: 2 })];
    expect(place(heavy, fleet, res(0.5))).toEqual({ ok: false, reason: 'needs 0.5 cpu; largest free: a 0 cpu' });
    expect(place({ node: 'a' }, fleet, res(0.5))).toEqual({ ok: false, reason: 'needs 0.5 cpu; node a has 0 cpu free' });
  });

  it('a node that reports no capacity (an older agent) takes only stages without a request', () => {
    const old = node('old', 0, 0, { allocatable: undefined, allocated: undefined });
    expect(place(heavy, [old])).toEqual({ ok: true, node: 'old' });
    expect(place(heavy, [old], res(1))).toEqual({ ok: false, reason: 'needs 1 cpu; no node with labels heavy=true reports its cpu and memory (agents older than capacity-aware placement)' });
    expect(place({ node: 'old' }, [old], res(1))).toEqual({ ok: false, reason: 'needs 1 cpu; node old reports no cpu and memory (an agent older than capacity-aware placement)' });
  });

  it('by node name: never and wait read differently', () => {
    const fleet = [node('n', 8, 32, { allocated: res(6, 0), running: 1 })];
    expect(place({ node: 'n' }, fleet, res(16))).toEqual({ ok: false, reason: 'needs 16 cpu; node n is not that large (8 cpu allocatable)' });
    expect(place({ node: 'n' }, fleet, res(4, 8))).toEqual({ ok: false, reason: 'needs 4 cpu / 8 GiB; node n has 2 cpu / 32 GiB free' });
    expect(place({ node: 'n' }, fleet, res(2, 8))).toEqual({ ok: true, node: 'n' });
  });

  it('strict standby: a primary too small for the request ever does not keep the large standby idle; a busy one does', () => {
    const small = node('primary', 4, 16);
    const spare = node('spare', 32, 128, { standby: true });
    expect(place(heavy, [small, spare], res(16, 64))).toEqual({ ok: true, node: 'spare' });
    const bigBusy = node('primary', 32, 128, { allocated: res(20, 0), running: 1 });
    expect(place(heavy, [bigBusy, spare], res(16, 64))).toEqual({ ok: false, reason: 'needs 16 cpu / 64 GiB; largest free: primary 12 cpu / 128 GiB' });
  });
});

describe('no head-of-line blocking', () => {
  it('in one placement pass a waiting heavy stage takes nothing, and light stages after it are placed', () => {
    // as the coordinator's pass does it: one set of views, each placement booked into it
    const views = [node('big', 16, 64, { allocated: res(12, 0), running: 1, slots: 4 }), node('small', 4, 8, { slots: 4 })];
    const pass = (request: Resources): PlacementResult => {
      const r = place(heavy, views, request);
      if (r.ok) book(views, r.node, request);
      return r;
    };
    expect(pass(res(8, 32))).toEqual({ ok: false, reason: 'needs 8 cpu / 32 GiB; largest free: big 4 cpu / 64 GiB' });
    const light = [pass(res(0)), pass(res(1)), pass(res(0)), pass(res(1))];
    expect(light.every((r) => r.ok)).toBe(true);
    expect(views.reduce((n, v) => n + v.running, 0)).toBe(5);
    // once big's running stage is gone, the heavy one fits there
    views[0]!.allocated = res(0);
    expect(pass(res(8, 32))).toEqual({ ok: true, node: 'big' });
  });

  it('in one job: a heavy stage waits queued with the reason while its independent light stages start', () => {
    const spec = jobSpecSchema.parse({
      name: 'mixed',
      stages: [
        { name: 'heavy', on: heavy, run: { command: ['true'] }, resources: { cpu: 16, memory: '64G' }, needs: [] },
        { name: 'light1', on: heavy, run: { command: ['true'] }, needs: [] },
        { name: 'light2', on: heavy, run: { command: ['true'] }, resources: { cpu: 0.5 }, needs: [] },
      ],
    });
    const job = newJobRecord('j1', spec, 1000, null);
    const views = [node('runner1', 8, 31)];
    const placer = (s: StageSpec): PlacementResult => {
      const r = place(s.on, views, stageRequest(s));
      if (r.ok) book(views, r.node, stageRequest(s));
      return r;
    };
    const starts = advance(job, 2000, placer);
    expect(starts.map((s) => s.token.stage)).toEqual(['light1', 'light2']);
    expect(job.stages.map((s) => [s.name, s.state, s.reason])).toEqual([
      ['heavy', 'queued', 'needs 16 cpu / 64 GiB; no node with labels heavy=true is that large (largest: runner1 8 cpu / 31 GiB allocatable)'],
      ['light1', 'running', ''],
      ['light2', 'running', ''],
    ]);
    expect(views[0]!.allocated).toEqual({ cpu: 500, memory: 0 });
  });
});

describe('failover honours the request', () => {
  it('a heavy stage whose node is lost is placed again only where it fits, and its old allocation is released', () => {
    const spec = jobSpecSchema.parse({ name: 'f', stages: [{ name: 'heavy', on: heavy, run: { command: ['true'] }, resources: { cpu: 6, memory: '8G' } }] });
    const job = newJobRecord('j1', spec, 1000, null);
    const views = [node('big1', 8, 16), node('big2', 8, 16, { allocated: res(4, 0), running: 1 }), node('small', 2, 4)];
    const passOver = (vs: NodeView[]) => (s: StageSpec): PlacementResult => {
      const r = place(s.on, vs, stageRequest(s));
      if (r.ok) book(vs, r.node, stageRequest(s));
      return r;
    };
    step(job, { kind: 'place', place: passOver(views), runRootOf: () => '' }, 2000);
    expect(activeAttempts(job)).toEqual([{ node: 'big1', request: { cpu: 6000, memory: 8 * GiB } }]);
    step(job, { kind: 'node-lost', node: 'big1', why: 'node down' }, 3000);
    expect(activeAttempts(job)).toEqual([]);
    // big1 down, big2 busy with 4 of its 8 cpu, small too small ever: it waits for big2
    const after = [node('big1', 8, 16, { state: 'down' }), node('big2', 8, 16, { allocated: res(4, 0), running: 1 }), node('small', 2, 4)];
    step(job, { kind: 'place', place: passOver(after), runRootOf: () => '' }, 4000);
    expect(job.stages[0]!.state).toBe('queued');
    expect(job.stages[0]!.reason).toBe('needs 6 cpu / 8 GiB; largest free: big2 4 cpu / 16 GiB');
    after[1]!.allocated = res(0);
    after[1]!.running = 0;
    step(job, { kind: 'place', place: passOver(after), runRootOf: () => '' }, 5000);
    expect(job.stages[0]!.attempts.map((a) => [a.attempt, a.node, a.state])).toEqual([[1, 'big1', 'stale'], [2, 'big2', 'starting']]);
  });
});

describe('amounts', () => {
  it('parses binary memory units and formats without overstating', () => {
    expect(parseMemory('64G')).toBe(64 * GiB);
    expect(parseMemory('64GiB')).toBe(64 * GiB);
    expect(parseMemory('512Mi')).toBe(512 * 2 ** 20);
    expect(parseMemory('1.5g')).toBe(1.5 * GiB);
    expect(parseMemory('2T')).toBe(2 * 2 ** 40);
    expect(parseMemory('64')).toBeUndefined();
    expect(parseMemory('64X')).toBeUndefined();
    expect(parseMemory('-1G')).toBeUndefined();
    expect(formatMemory(31.99 * GiB)).toBe('31.9 GiB');
    expect(formatMemory(512 * 2 ** 20)).toBe('512 MiB');
    expect(formatMemory(-5)).toBe('0 B');
    expect(formatResources(res(0.5, 2))).toBe('0.5 cpu / 2 GiB');
    expect(formatResources(res(0.5, 2), res(1))).toBe('0.5 cpu');
  });
});
