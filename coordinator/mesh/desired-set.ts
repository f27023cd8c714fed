// Desired peer sets, pure: who each member peers with and with which allowed IPs. Nodes peer
// with every node and every client; a client peers with nodes only, and nodes accept from a
// client nothing but the client's own /32, so a client can never relay for the fleet.
import type { MeshDesired, MeshMemberRecord, MeshPeer } from '../../proto/mesh.js';
import { meshPeersHash } from '../../proto/mesh-hash.js';

export interface BuildOptions {
  /** Persistent keepalive (seconds) towards nodes; 0 = off. */
  keepaliveS: number;
}

/** The key peers should configure for a member: during a rotation, the new one. */
export function effectiveKey(m: Pick<MeshMemberRecord, 'publicKey' | 'rotation'>): string {
  return m.rotation?.to ?? m.publicKey;
}

export function buildPeers(self: MeshMemberRecord, members: Iterable<MeshMemberRecord>, o: BuildOptions): MeshPeer[] {
  const peers: MeshPeer[] = [];
  for (const m of members) {
    if (m.kind === self.kind && m.name === self.name) continue;
    // Clients reach the fleet, not each other.
    if (self.kind === 'client' && m.kind === 'client') continue;
    peers.push({
      name: m.name,
      kind: m.kind,
      publicKey: effectiveKey(m),
      ...(m.endpoint === null ? {} : { endpoint: m.endpoint }),
      allowedIps: [`${m.address}/32`],
      // Towards a client, a node keeps nothing alive: the client opens and holds its own path,
      // and when it is switched off nothing in the fleet sends it anything.
      persistentKeepalive: m.kind === 'client' ? 0 : o.keepaliveS,
    });
  }
  return peers.sort((a, b) => (a.kind === b.kind ? cmp(a.name, b.name) : a.kind === 'node' ? -1 : 1));
}

/** The desired message for one node at a given version. */
export function buildDesired(self: MeshMemberRecord, peers: MeshPeer[], epoch: string, version: number, prefixBits: number): MeshDesired {
  return {
    type: 'desired',
    node: self.name,
    epoch,
    version,
    address: `${self.address}/${prefixBits}`,
    peers,
    hash: meshPeersHash(peers),
  };
}

/**
 * What goes into the version: the peers and the member's own address. The same content keeps
 * its version (a coordinator restart pushes nothing new); any change bumps it by one.
 */
export function contentHash(self: MeshMemberRecord, peers: readonly MeshPeer[], prefixBits: number): string {
  return `${meshPeersHash(peers).slice(0, 48)}:${self.address}/${prefixBits}`;
}

export function nextVersion(prev: { version: number; hash: string | null }, hash: string): number {
  return prev.hash === hash ? prev.version : prev.version + 1;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
