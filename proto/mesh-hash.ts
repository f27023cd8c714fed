// The hash of a pushed peer set, over one canonical form: the coordinator puts it in every desired
// message and the agent reports its interface's hash back, so both ends must compute it alike.
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../lib/errors.js';
import { canonicalCidr, canonicalEndpoint } from './cidr.js';
import { wgKeySchema, type MeshPeer } from './mesh.js';

export interface DesiredPeer {
  publicKey: string;
  /** Literal `ip:port`. Leave unset for a roaming peer: then the live endpoint is never compared. */
  endpoint?: string;
  allowedIps: readonly string[];
  /** Seconds; unset means off. Unlike the endpoint, keepalive is always ours to decide. */
  persistentKeepalive?: number;
}

/** A peer in canonical form: what the hash covers and what a diff compares. */
export interface NormalizedPeer {
  publicKey: string;
  endpoint: string | undefined;
  allowedIps: string[];
  keepalive: number;
}

/** The one alphabet check, taken from the schema so the wire and the tools agree. */
export function isWgKey(s: string): boolean {
  return wgKeySchema.safeParse(s).success;
}

/** The one mapping from a pushed peer set to what the interface should hold. */
export function toDesiredPeers(peers: readonly MeshPeer[]): DesiredPeer[] {
  return peers.map((p) => ({
    publicKey: p.publicKey,
    ...(p.endpoint === undefined ? {} : { endpoint: p.endpoint }),
    allowedIps: p.allowedIps,
    persistentKeepalive: p.persistentKeepalive,
  }));
}

/** The `hash` of a desired message. */
export function meshPeersHash(peers: readonly MeshPeer[]): string {
  return desiredStateHash(toDesiredPeers(peers));
}

/** sha256 hex of the desired set; equals the agent's live hash exactly when nothing is left to apply. */
export function desiredStateHash(desired: readonly DesiredPeer[]): string {
  return hashPeers([...normalizeDesired(desired).values()]);
}

/** By key; throws InvalidInputError on a bad key, a key listed twice or a bad keepalive. */
export function normalizeDesired(desired: readonly DesiredPeer[]): Map<string, NormalizedPeer> {
  const out = new Map<string, NormalizedPeer>();
  for (const d of desired) {
    if (!isWgKey(d.publicKey)) throw new InvalidInputError(`desired peer: not a WireGuard key: ${JSON.stringify(d.publicKey)}`);
    if (out.has(d.publicKey)) throw new InvalidInputError(`desired peer listed twice: ${d.publicKey}`);
    const keepalive = d.persistentKeepalive ?? 0;
    if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 65535) {
      throw new InvalidInputError(`desired peer ${d.publicKey}: bad persistentKeepalive ${keepalive}`);
    }
    out.set(d.publicKey, {
      publicKey: d.publicKey,
      endpoint: d.endpoint === undefined ? undefined : canonicalEndpoint(d.endpoint),
      allowedIps: sortedUnique(d.allowedIps.map(canonicalCidr)),
      keepalive,
    });
  }
  return out;
}

export function hashPeers(peers: readonly NormalizedPeer[]): string {
  const rows = [...peers].sort(byPublicKey).map((p) => [p.publicKey, p.allowedIps, p.endpoint ?? null, p.keepalive]);
  return createHash('sha256').update(JSON.stringify(['meshrun-wg-peers-v1', rows])).digest('hex');
}

export const sortedUnique = (xs: string[]): string[] => [...new Set(xs)].sort();
export const byPublicKey = (a: NormalizedPeer, b: NormalizedPeer): number => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0);
