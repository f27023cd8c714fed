// Unit tests for placement: which node a stage goes to, or the one line that says why
// it waits, including strict standby (a standby node only when no primary is ready).

import { describe, expect, it } from 'vitest';
import { formatLabels, labelsMatch, place, type NodeView } from '../coordinator/scheduler.js';

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return { name, labels: {}, slots: 2, standby: false, draining: false, removed: false, state: 'ready', running: 0, ...over };
}

describe('place by node name', () => {
  const fleet = [
    node('ok', { running: 1, slots: 2 }),
    node('gone', { removed: true }),
    node('dead', { state: 'down' }),
    node('shaky', { state: 'suspect' }),
    node('leaving', { draining: true }),
    node('full', { running: 2, slots: 2 }),
    node('spare', { standby: true }),
  ];

  it('a ready node with a free slot gets the stage', () => {
    expect(place({ node: 'ok' }, fleet)).toEqual({ ok: true, node: 'ok' });
  });

  it('a standby node named explicitly gets the stage', () => {
    expect(place({ node: 'spare' }, fleet)).toEqual({ ok: true, node: 'spare' });
  });

  it.each([
    ['nowhere', 'node nowhere is not registered'],
    ['gone', 'node gone is not registered'],
    ['dead', 'node dead is down'],
    ['shaky', 'node shaky is suspect'],
    ['leaving', 'node leaving is draining'],
    ['full', 'node full has no free slot (2/2 running)'],
  ])('%s waits: %s', (name, reason) => {
    expect(place({ node: name }, fleet)).toEqual({ ok: false, reason });
  });

  it('labels of a named node are not checked', () => {
    expect(place({ node: 'ok' }, [node('ok', { labels: { role: 'ci' } })])).toEqual({ ok: true, node: 'ok' });
  });
});

describe('place by labels', () => {
  it('every wanted label must match', () => {
    const fleet = [
      node('a', { labels: { role: 'bastion' } }),
      node('b', { labels: { role: 'bastion', zone: 'lab' } }),
      node('c', { labels: { role: 'runner', zone: 'lab' } }),
    ];
    expect(place({ labels: { role: 'bastion', zone: 'lab' } }, fleet)).toEqual({ ok: true, node: 'b' });
    expect(place({ labels: { zone: 'lab', role: 'runner' } }, fleet)).toEqual({ ok: true, node: 'c' });
  });

  it('empty labels match any node', () => {
    const fleet = [node('b', { running: 1 }), node('a', { running: 2, slots: 2 })];
    expect(place({ labels: {} }, fleet)).toEqual({ ok: true, node: 'b' });
  });

  it('no node with the labels at all', () => {
    const fleet = [node('a', { labels: { role: 'runner' } }), node('b', { labels: { role: 'bastion' }, removed: true })];
    expect(place({ labels: { role: 'bastion' } }, fleet)).toEqual({ ok: false, reason: 'no ready node with labels role=bastion' });
    expect(place({ labels: {} }, [])).toEqual({ ok: false, reason: 'no ready node with labels (any)' });
  });

  it('matching nodes that are not ready are listed with their state', () => {
    const fleet = [
      node('b1', { labels: { role: 'bastion' }, state: 'down' }),
      node('b2', { labels: { role: 'bastion' }, state: 'suspect' }),
      node('b3', { labels: { role: 'bastion' }, draining: true }),
      node('b4', { labels: { role: 'bastion' }, draining: true, state: 'down' }),
    ];
    expect(place({ labels: { role: 'bastion' } }, fleet)).toEqual({
      ok: false,
      reason: 'no ready node with labels role=bastion (b1 is down, b2 is suspect, b3 is draining, b4 is down)',
    });
  });

  it('the least-loaded node wins, by share of its slots', () => {
    const fleet = [node('a', { running: 1, slots: 2 }), node('b', { running: 1, slots: 4 }), node('c', { running: 3, slots: 4 })];
    expect(place({ labels: {} }, fleet)).toEqual({ ok: true, node: 'b' });
  });

  it('a full node is passed over for a busier-looking but free one', () => {
    const fleet = [node('a', { running: 1, slots: 1 }), node('b', { running: 3, slots: 4 })];
    expect(place({ labels: {} }, fleet)).toEqual({ ok: true, node: 'b' });
  });

  it('a tie goes to the first name, whatever the input order', () => {
    const fleet = [node('runner-c'), node('runner-a'), node('runner-b')];
    expect(place({ labels: {} }, fleet)).toEqual({ ok: true, node: 'runner-a' });
    expect(place({ labels: {} }, [...fleet].reverse())).toEqual({ ok: true, node: 'runner-a' });
  });

  it('busy: every ready match is full, with counts', () => {
    const fleet = [
      node('r1', { labels: { heavy: 'true' }, running: 2, slots: 2 }),
      node('r2', { labels: { heavy: 'true' }, running: 1, slots: 1 }),
      node('r3', { labels: { heavy: 'true' }, state: 'down' }),
    ];
    expect(place({ labels: { heavy: 'true' } }, fleet)).toEqual({
      ok: false,
      reason: 'every ready node with labels heavy=true is busy (r1 2/2, r2 1/1)',
    });
  });

  it('does not change the node views it is given', () => {
    const fleet = [node('b', { running: 1 }), node('a', { running: 1 })];
    const copy = structuredClone(fleet);
    place({ labels: {} }, fleet);
    expect(fleet).toEqual(copy);
  });
});

describe('place: strict standby', () => {
  const labels = { fenced: 'yes' };

  it('a ready primary is used even when the standby is idle and the primary is busier', () => {
    const fleet = [node('standby', { labels, standby: true }), node('primary', { labels, running: 1, slots: 2 })];
    expect(place({ labels }, fleet)).toEqual({ ok: true, node: 'primary' });
  });

  it('a full primary queues the stage; the standby is not used', () => {
    const fleet = [node('standby', { labels, standby: true }), node('primary', { labels, running: 1, slots: 1 })];
    expect(place({ labels }, fleet)).toEqual({ ok: false, reason: 'every ready node with labels fenced=yes is busy (primary 1/1)' });
  });

  it.each([
    ['down', { state: 'down' as const }],
    ['suspect', { state: 'suspect' as const }],
    ['draining', { draining: true }],
    ['removed', { removed: true }],
  ])('a %s primary lets the standby take the stage', (_why, over) => {
    const fleet = [node('primary', { labels, ...over }), node('standby', { labels, standby: true })];
    expect(place({ labels }, fleet)).toEqual({ ok: true, node: 'standby' });
  });

  it('a primary without the labels does not keep the standby idle', () => {
    const fleet = [node('other', { labels: { fenced: 'no' } }), node('standby', { labels, standby: true })];
    expect(place({ labels }, fleet)).toEqual({ ok: true, node: 'standby' });
  });

  it('with only standbys ready and all full, the reason names the standbys', () => {
    const fleet = [node('primary', { labels, state: 'down' }), node('standby', { labels, standby: true, running: 2, slots: 2 })];
    expect(place({ labels }, fleet)).toEqual({ ok: false, reason: 'every ready node with labels fenced=yes is busy (standby 2/2)' });
  });

  it('among standbys the least-loaded wins', () => {
    const fleet = [
      node('primary', { labels, state: 'down' }),
      node('s1', { labels, standby: true, running: 1 }),
      node('s2', { labels, standby: true, running: 0 }),
    ];
    expect(place({ labels }, fleet)).toEqual({ ok: true, node: 's2' });
  });
});

describe('labelsMatch and formatLabels', () => {
  it('matches when every wanted pair is present with the same value', () => {
    expect(labelsMatch({ a: '1' }, { a: '1', b: '2' })).toBe(true);
    expect(labelsMatch({ a: '1' }, { a: '2' })).toBe(false);
    expect(labelsMatch({ a: '1', c: '3' }, { a: '1' })).toBe(false);
    expect(labelsMatch({}, {})).toBe(true);
  });

  it('formats k=v pairs, and (any) for none', () => {
    expect(formatLabels({ role: 'bastion', zone: 'lab' })).toBe('role=bastion,zone=lab');
    expect(formatLabels({})).toBe('(any)');
  });
});

describe('placement waits for a renewed lease', () => {
  const view = (name: string, leaseLive: boolean) => ({ name, labels: { role: 'web' }, slots: 4, standby: false, draining: false, removed: false, state: 'ready' as const, running: 0, leaseLive });

  it('a node whose lease is not live yet gets no work, and the reason says so', () => {
    expect(place({ node: 'a' }, [view('a', false)])).toEqual({ ok: false, reason: 'node a is renewing its lease (back after an outage)' });
    const r = place({ labels: { role: 'web' } }, [view('a', false)]);
    expect(r).toEqual({ ok: false, reason: 'no ready node with labels role=web (a is renewing its lease)' });
    expect(place({ labels: { role: 'web' } }, [view('a', false), view('b', true)])).toEqual({ ok: true, node: 'b' });
  });
});
