// The one mapping from a pushed peer set to peer-diff's DesiredPeer, shared by the agent and the
// coordinator so the desired hash both compute is the same function of the same input.
import type { MeshPeer } from '../../proto/mesh.js';
import { desiredStateHash, type DesiredPeer } from '../wg/peer-diff.js';

export function toDesiredPeers(peers: readonly MeshPeer[]): DesiredPeer[] {
  return peers.map((p) => ({
    publicKey: p.publicKey,
    ...(p.endpoint === undefined ? {} : { endpoint: p.endpoint }),
    allowedIps: p.allowedIps,
    persistentKeepalive: p.persistentKeepalive,
  }));
}

export function meshPeersHash(peers: readonly MeshPeer[]): string {
  return desiredStateHash(toDesiredPeers(peers));
}
