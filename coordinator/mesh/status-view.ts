// What `meshrun mesh` shows, pure: per member the applied vs desired version and whether the
// live interface matches, per edge the handshake age, traffic and whether the peer has gone quiet.
import type { MeshEdgeMsg, MeshMemberMsg, MeshMemberRecord, MeshPeerStats, MeshStatus } from '../../proto/mesh.js';
import { effectiveKey } from './desired-set.js';

/** WireGuard's REJECT_AFTER_TIME: a session this old is dead whatever else happened. */
export const HANDSHAKE_DEAD_S = 180;

export type EdgeHealth = 'ok' | 'stale' | 'never' | 'unknown';

/**
 * With a persistent keepalive of K seconds each side sends something at least every K seconds,
 * so silence for a few K means the path is gone, long before the handshake itself expires.
 */
export function staleAfterS(keepaliveS: number): number {
  return keepaliveS > 0 ? 2 * keepaliveS + 5 : HANDSHAKE_DEAD_S;
}

export function edgeHealth(s: Pick<MeshPeerStats, 'handshakeAgeS' | 'silentS'>, keepaliveS: number): EdgeHealth {
  if (s.handshakeAgeS < 0) return 'never';
  if (s.handshakeAgeS > HANDSHAKE_DEAD_S) return 'stale';
  if (keepaliveS > 0 && s.silentS > staleAfterS(keepaliveS)) return 'stale';
  return 'ok';
}

export interface ReportedStatus {
  status: MeshStatus;
  receivedAt: number;
  /** Last per-peer figures and when they arrived (they come every few heartbeats). */
  peers: MeshPeerStats[] | undefined;
  peersAt: number;
}

export interface MemberView {
  member: MeshMemberRecord;
  /** Liveness from the coordinator core (nodes only). */
  state: string;
  desiredVersion: number;
  /** Hash of the peer set the coordinator wants the node to have. */
  desiredHash: string;
  reported: ReportedStatus | undefined;
}

export function memberMsg(v: MemberView, epoch: string, keepaliveS: number, byKey: ReadonlyMap<string, MeshMemberRecord>, now: number): MeshMemberMsg {
  const m = v.member;
  const st = v.reported?.status;
  const applied = st && st.epoch === epoch ? st.appliedVersion : 0;
  const inSync =
    m.kind === 'client' ||
    (st !== undefined &&
      st.epoch === epoch &&
      applied === v.desiredVersion &&
      st.desiredHash === v.desiredHash &&
      st.liveHash === v.desiredHash &&
      st.publicKey === m.publicKey &&
      m.rotation === null);
  const edges: MeshEdgeMsg[] = [];
  const age = v.reported ? now - v.reported.peersAt : 0;
  for (const p of v.reported?.peers ?? []) {
    const peer = byKey.get(p.publicKey);
    const shifted = { ...p, handshakeAgeS: p.handshakeAgeS < 0 ? -1 : p.handshakeAgeS + Math.floor(age / 1000), silentS: p.silentS + Math.floor(age / 1000) };
    edges.push({
      peer: peer?.name ?? '?',
      peerKind: peer?.kind ?? 'unknown',
      publicKey: p.publicKey,
      endpoint: p.endpoint ?? '',
      handshakeAgeMs: p.handshakeAgeS < 0 ? -1 : p.handshakeAgeS * 1000 + age,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      silentMs: p.silentS * 1000 + age,
      // Clients keep their own path alive towards nodes with the same keepalive, so one rule fits both.
      health: edgeHealth(shifted, keepaliveS),
    });
  }
  edges.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  return {
    name: m.name,
    kind: m.kind,
    address: m.address,
    publicKey: m.publicKey,
    endpoint: m.endpoint ?? '',
    state: m.kind === 'client' ? 'client' : v.state,
    desiredVersion: m.kind === 'client' ? 0 : v.desiredVersion,
    appliedVersion: applied,
    inSync,
    desiredHash: m.kind === 'client' ? '' : v.desiredHash,
    liveHash: st?.liveHash ?? '',
    statusAgeMs: v.reported ? now - v.reported.receivedAt : -1,
    rotating: m.rotation !== null,
    error: st?.error ?? '',
    edges,
  };
}

/** Every key a member may show up with in a peer's dump (its key, and a rotation's next key). */
export function keyIndex(members: Iterable<MeshMemberRecord>): Map<string, MeshMemberRecord> {
  const out = new Map<string, MeshMemberRecord>();
  for (const m of members) {
    out.set(m.publicKey, m);
    out.set(effectiveKey(m), m);
  }
  return out;
}
