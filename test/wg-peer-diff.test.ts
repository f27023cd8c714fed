// Unit tests for the pure peer diff and the desired/live hashes: a healthy peer is never
// touched, and the two hashes agree exactly when the diff is empty.

import { describe, expect, it, vi } from 'vitest';
import { applyDiff, diffPeers, liveStateHash } from '../agent/wg/peer-diff.js';
import { desiredStateHash, type DesiredPeer } from '../proto/mesh-hash.js';
import type { WgDumpPeer, WgTool } from '../agent/wg/wg-tool.js';
import { InvalidInputError } from '../lib/errors.js';

const K = {
  a: 'yI08A3wNgfnIhy3yFuGF64Zuzunol4MpyhZylKSH7zE=',
  b: 'B7x8rlBuTm93wnaDR/Z8iTPdUNCb5Zu1xahXxWAWAnE=',
  c: 'YX65lqpw62rA3w4kKTSDMNulFCbOi8USCYp2zWE79GA=',
};

function live(publicKey: string, over: Partial<WgDumpPeer> = {}): WgDumpPeer {
  return {
    publicKey,
    hasPresharedKey: false,
    endpoint: undefined,
    allowedIps: [],
    latestHandshake: 1_700_000_000,
    rxBytes: 100,
    txBytes: 100,
    persistentKeepalive: 0,
    ...over,
  };
}

const desired: DesiredPeer[] = [
  { publicKey: K.a, endpoint: '10.213.0.1:51820', allowedIps: ['10.214.0.1/32', '10.215.0.0/16'] },
  { publicKey: K.b, allowedIps: ['10.214.0.2'], persistentKeepalive: 25 },
];
const matching: WgDumpPeer[] = [
  // Allowed IPs in another order, and b roamed to an endpoint the desired state does not pin.
  live(K.a, { endpoint: '10.213.0.1:51820', allowedIps: ['10.215.0.0/16', '10.214.0.1/32'] }),
  live(K.b, { endpoint: '10.213.0.77:40000', allowedIps: ['10.214.0.2/32'], persistentKeepalive: 25 }),
];

describe('diffPeers', () => {
  it('adds every peer to an empty interface, saying keepalive only when non-zero', () => {
    expect(diffPeers(desired, [])).toEqual([
      { kind: 'add', publicKey: K.b, settings: { publicKey: K.b, allowedIps: ['10.214.0.2/32'], persistentKeepalive: 25 } },
      { kind: 'add', publicKey: K.a, settings: { publicKey: K.a, allowedIps: ['10.214.0.1/32', '10.215.0.0/16'], endpoint: '10.213.0.1:51820' } },
    ]);
  });

  it('is a no-op when live matches (order-insensitive, roaming endpoint ignored)', () => {
    expect(diffPeers(desired, matching)).toEqual([]);
  });

  it('updates only the changed field of only the changed peer', () => {
    const changed = [{ ...desired[0]!, allowedIps: ['10.214.0.1/32'] }, desired[1]!];
    expect(diffPeers(changed, matching)).toEqual([
      { kind: 'update', publicKey: K.a, changed: ['allowedIps'], settings: { publicKey: K.a, allowedIps: ['10.214.0.1/32'] } },
    ]);
    const moved = [{ ...desired[0]!, endpoint: '10.213.0.9:51820' }, { ...desired[1]!, persistentKeepalive: undefined }];
    expect(diffPeers(moved, matching)).toEqual([
      { kind: 'update', publicKey: K.b, changed: ['persistentKeepalive'], settings: { publicKey: K.b, persistentKeepalive: 0 } },
      { kind: 'update', publicKey: K.a, changed: ['endpoint'], settings: { publicKey: K.a, endpoint: '10.213.0.9:51820' } },
    ]);
  });

  it('removes peers that are no longer desired, before anything else', () => {
    const ops = diffPeers([desired[1]!, { publicKey: K.c, allowedIps: ['10.214.0.3/32'] }], matching);
    expect(ops.map((o) => `${o.kind}:${o.publicKey}`)).toEqual([`remove:${K.a}`, `add:${K.c}`]);
  });

  it('refuses duplicate keys, bad keys, hostnames and bad keepalives', () => {
    expect(() => diffPeers([desired[0]!, desired[0]!], [])).toThrow(/twice/);
    expect(() => diffPeers([{ publicKey: 'x', allowedIps: [] }], [])).toThrow(InvalidInputError);
    expect(() => diffPeers([{ publicKey: K.a, endpoint: 'host:1', allowedIps: [] }], [])).toThrow(/hostname/);
    expect(() => diffPeers([{ publicKey: K.a, allowedIps: [], persistentKeepalive: -1 }], [])).toThrow(InvalidInputError);
  });
});

describe('state hashes', () => {
  it('agree exactly when the diff is empty', () => {
    const h = desiredStateHash(desired);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(liveStateHash(matching, desired)).toBe(h);
    expect(liveStateHash({ interface: { hasPrivateKey: true, publicKey: K.c, listenPort: 1, fwmark: 0 }, peers: matching }, desired)).toBe(h);
    const other = [{ ...desired[0]!, allowedIps: ['10.214.0.1/32'] }, desired[1]!];
    expect(desiredStateHash(other)).not.toBe(h);
    expect(liveStateHash(matching.slice(0, 1), desired)).not.toBe(h);
  });
  it('are stable under reordering of peers and allowed IPs', () => {
    const shuffled = [desired[1]!, { ...desired[0]!, allowedIps: ['10.215.0.0/16', '10.214.0.1'] }];
    expect(desiredStateHash(shuffled)).toBe(desiredStateHash(desired));
    expect(liveStateHash([...matching].reverse(), desired)).toBe(liveStateHash(matching, desired));
  });
  it('count a pinned endpoint that drifted', () => {
    const drifted = [live(K.a, { ...matching[0]!, endpoint: '10.213.0.5:51820' }), matching[1]!];
    expect(liveStateHash(drifted, desired)).not.toBe(desiredStateHash(desired));
    expect(diffPeers(desired, drifted)).toHaveLength(1);
  });
});

describe('applyDiff', () => {
  it('sends one batch and counts what it touched', async () => {
    const setPeers = vi.fn<WgTool['setPeers']>(async () => undefined);
    const tool = { setPeers } as unknown as WgTool;
    const ops = diffPeers([desired[1]!, { publicKey: K.c, allowedIps: ['10.214.0.3/32'] }], [...matching.slice(0, 1), live(K.b, { allowedIps: ['10.214.0.2/32'] })]);
    expect(await applyDiff(tool, 'mrw0', ops, { netns: 'ns' })).toEqual({ added: 1, updated: 1, removed: 1 });
    expect(setPeers).toHaveBeenCalledTimes(1);
    expect(setPeers.mock.calls[0]?.[1].remove).toEqual([K.a]);
    expect(await applyDiff(tool, 'mrw0', [])).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(setPeers).toHaveBeenCalledTimes(1);
  });
});
