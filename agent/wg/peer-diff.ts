// Turns a desired peer set plus the live `wg show dump` into the fewest peer operations,
// so a healthy peer's session is never touched, and hashes the live side to compare with the desired one.

import {
  byPublicKey,
  desiredStateHash,
  hashPeers,
  normalizeDesired,
  sortedUnique,
  type DesiredPeer,
  type NormalizedPeer,
} from '../../proto/mesh-hash.js';
import { canonicalCidr, canonicalEndpoint } from '../../proto/cidr.js';
import type { NetnsOption, PeerSettings, WgTool } from './wg-tool.js';
import type { WgDump, WgDumpPeer } from './wg-dump.js';

/** The input of diffPeers and reconcilePeers; defined with the hash both ends compute over it. */
export type { DesiredPeer } from '../../proto/mesh-hash.js';

export type PeerField = 'endpoint' | 'allowedIps' | 'persistentKeepalive';
export type PeerOp =
  | { kind: 'add'; publicKey: string; settings: PeerSettings }
  /** `settings` carries only the `changed` fields, so `wg set` rewrites nothing else. */
  | { kind: 'update'; publicKey: string; settings: PeerSettings; changed: PeerField[] }
  | { kind: 'remove'; publicKey: string };

export interface ApplyCounts {
  added: number;
  updated: number;
  removed: number;
}

/** Pure. Ordered removes, updates, adds (each by key) so the same inputs always give the same list. */
export function diffPeers(desired: readonly DesiredPeer[], live: readonly WgDumpPeer[]): PeerOp[] {
  const want = normalizeDesired(desired);
  const have = new Map(live.map((p) => [p.publicKey, normalizeLive(p)]));
  const removes: PeerOp[] = [];
  const updates: PeerOp[] = [];
  const adds: PeerOp[] = [];
  for (const key of [...have.keys()].sort()) {
    if (!want.has(key)) removes.push({ kind: 'remove', publicKey: key });
  }
  for (const d of [...want.values()].sort(byPublicKey)) {
    const l = have.get(d.publicKey);
    if (!l) {
      adds.push({ kind: 'add', publicKey: d.publicKey, settings: settingsOf(d, ['allowedIps', 'endpoint', 'persistentKeepalive'], true) });
      continue;
    }
    const changed: PeerField[] = [];
    if (d.allowedIps.join(',') !== l.allowedIps.join(',')) changed.push('allowedIps');
    if (d.endpoint !== undefined && d.endpoint !== l.endpoint) changed.push('endpoint');
    if (d.keepalive !== l.keepalive) changed.push('persistentKeepalive');
    if (changed.length > 0) updates.push({ kind: 'update', publicKey: d.publicKey, settings: settingsOf(d, changed, false), changed });
  }
  return [...removes, ...updates, ...adds];
}

/**
 * sha256 hex of the applied peers. Endpoints count only where `desired` names one (as in the
 * diff), because a roaming peer's live endpoint is not config; without `desired`, none count.
 */
export function liveStateHash(dump: WgDump | readonly WgDumpPeer[], desired: readonly DesiredPeer[] = []): string {
  const peers = 'peers' in dump ? dump.peers : dump;
  const pinned = new Set(desired.filter((d) => d.endpoint !== undefined).map((d) => d.publicKey));
  return hashPeers(peers.map(normalizeLive).map((n) => ({ ...n, endpoint: pinned.has(n.publicKey) ? n.endpoint : undefined })));
}

/** Executes the ops as one batched `wg set` (removals first), returning what was touched. */
export async function applyDiff(tool: WgTool, ifname: string, ops: readonly PeerOp[], o: NetnsOption = {}): Promise<ApplyCounts> {
  const set: PeerSettings[] = [];
  const remove: string[] = [];
  const counts: ApplyCounts = { added: 0, updated: 0, removed: 0 };
  for (const op of ops) {
    if (op.kind === 'remove') {
      remove.push(op.publicKey);
      counts.removed++;
    } else {
      set.push(op.settings);
      if (op.kind === 'add') counts.added++;
      else counts.updated++;
    }
  }
  if (set.length > 0 || remove.length > 0) await tool.setPeers(ifname, { set, remove }, o);
  return counts;
}

/** Reads the live peers, applies the difference, and reports the ops and the resulting hash. */
export async function reconcilePeers(
  tool: WgTool,
  ifname: string,
  desired: readonly DesiredPeer[],
  o: NetnsOption = {},
): Promise<{ ops: PeerOp[]; counts: ApplyCounts; desiredHash: string }> {
  const ops = diffPeers(desired, (await tool.showDump(ifname, o)).peers);
  const counts = await applyDiff(tool, ifname, ops, o);
  return { ops, counts, desiredHash: desiredStateHash(desired) };
}

function normalizeLive(p: WgDumpPeer): NormalizedPeer {
  return {
    publicKey: p.publicKey,
    endpoint: p.endpoint === undefined ? undefined : tryCanonical(canonicalEndpoint, p.endpoint),
    allowedIps: sortedUnique(p.allowedIps.map((c) => tryCanonical(canonicalCidr, c))),
    keepalive: p.persistentKeepalive,
  };
}

function settingsOf(d: NormalizedPeer, fields: readonly PeerField[], isNew: boolean): PeerSettings {
  const s: PeerSettings = { publicKey: d.publicKey };
  if (fields.includes('allowedIps')) s.allowedIps = d.allowedIps;
  if (fields.includes('endpoint') && d.endpoint !== undefined) s.endpoint = d.endpoint;
  // A new peer starts with keepalive off, so only a non-zero value needs saying on add.
  if (fields.includes('persistentKeepalive') && (d.keepalive > 0 || !isNew)) s.persistentKeepalive = d.keepalive;
  return s;
}

function tryCanonical(f: (s: string) => string, s: string): string {
  try {
    return f(s);
  } catch {
    return s; // Whatever wg printed; it will simply not match a desired value.
  }
}
