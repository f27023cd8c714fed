// Bench for the WireGuard layer: time to reconcile 200 peers onto an empty real interface and
// then a one-peer change, in a throwaway namespace that is removed even when the bench fails.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureKeyPair } from '../agent/wg/keys.js';
import { reconcilePeers, type DesiredPeer } from '../agent/wg/peer-diff.js';
import { wgTool } from '../agent/wg/wg-tool.js';

const PEERS = 200;

export async function benchWg(): Promise<{ apply200Ms: number; applyOneMs: number; onePeerOps: number }> {
  const tag = randomBytes(3).toString('hex');
  const netns = `mrbench${tag}`;
  const ifname = `mrwb${tag}`;
  const o = { netns };
  const keyDir = await mkdtemp(join(tmpdir(), 'meshrun-bench-wg-'));
  try {
    await wgTool.createNetns(netns);
    await wgTool.createInterface(ifname, o);
    const keys = await ensureKeyPair(join(keyDir, 'wg'));
    await wgTool.setPrivateKey(ifname, keys.privateKeyPath, { ...o, listenPort: 51820 });
    await wgTool.setAddress(ifname, '10.214.0.1/16', o);
    await wgTool.linkUp(ifname, o);

    // Peer keys need not be real key pairs to be configured; endpoints are loopback in the
    // namespace and no keepalive is set, so nothing is ever sent anywhere.
    const desired: DesiredPeer[] = Array.from({ length: PEERS }, (_, i) => ({
      publicKey: randomBytes(32).toString('base64'),
      endpoint: `127.0.0.1:${20000 + i}`,
      allowedIps: [`10.214.${1 + Math.floor(i / 250)}.${1 + (i % 250)}/32`],
    }));
    let t = performance.now();
    const first = await reconcilePeers(wgTool, ifname, desired, o);
    const apply200Ms = performance.now() - t;
    if (first.counts.added !== PEERS) throw new Error(`expected ${PEERS} peers added, got ${first.counts.added}`);

    const changed = desired.map((p, i) => (i === 7 ? { ...p, allowedIps: [...p.allowedIps, '10.214.9.9/32'] } : p));
    t = performance.now();
    const second = await reconcilePeers(wgTool, ifname, changed, o);
    const applyOneMs = performance.now() - t;
    // The figure only means something if the change really touched one peer and only that one.
    const [op, ...extra] = second.ops;
    if (extra.length > 0 || op?.kind !== 'update' || op.publicKey !== desired[7]!.publicKey) {
      throw new Error(`the one-peer change touched ${second.ops.length} peer(s): ${JSON.stringify(second.ops.map((x) => x.kind))}`);
    }

    const live = await wgTool.showDump(ifname, o);
    if (live.peers.length !== PEERS) throw new Error(`expected ${PEERS} live peers, got ${live.peers.length}`);
    return { apply200Ms: round(apply200Ms), applyOneMs: round(applyOneMs), onePeerOps: second.ops.length };
  } finally {
    await wgTool.deleteInterface(ifname, o).catch(() => undefined);
    await wgTool.deleteNetns(netns).catch(() => undefined);
    await rm(keyDir, { recursive: true, force: true });
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
