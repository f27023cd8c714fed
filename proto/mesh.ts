// Schemas of everything mesh that crosses a wire: the agent's mesh status in its heartbeat,
// the desired peer set the coordinator pushes to an agent (and its ack), and key rotation.
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { nodeNameSchema } from './names.js';

/** A WireGuard public key: 32 bytes in base64 (isWgKey in mesh-hash.ts checks with this schema). */
const WG_KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
export const wgKeySchema = z.string().regex(WG_KEY_RE, { message: 'must be a base64 WireGuard public key' });

/** `ip:port` with a literal IP (WireGuard stores resolved addresses; a hostname would never compare equal). */
export const meshEndpointSchema = z
  .string()
  .max(64)
  .refine((s) => {
    const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
    const port = Number(m?.[2]);
    return m !== null && (isIPv4(m[1]!) || isIPv6(m[1]!)) && port > 0 && port < 65536;
  }, { message: 'must be IP:PORT with a literal IP address (e.g. 192.0.2.10:51820)' });

/** An IPv4 prefix `a.b.c.d/n`; the mesh allocates IPv4 addresses only. */
export const ipv4CidrSchema = z.string().refine((s) => {
  const [ip, bits, extra] = s.split('/');
  return extra === undefined && ip !== undefined && isIPv4(ip) && bits !== undefined && /^\d{1,2}$/.test(bits) && Number(bits) <= 32;
}, { message: 'must be an IPv4 prefix like 10.99.0.0/16' });

export const meshMemberKindSchema = z.enum(['node', 'client']);
export type MeshMemberKind = z.infer<typeof meshMemberKindSchema>;

/** One peer of a desired set: what `wg set` gets, plus who it is (for status and logs). */
export const meshPeerSchema = z.object({
  name: nodeNameSchema,
  kind: meshMemberKindSchema,
  publicKey: wgKeySchema,
  endpoint: meshEndpointSchema.optional(),
  allowedIps: z.array(ipv4CidrSchema).min(1).max(64),
  persistentKeepalive: z.number().int().min(0).max(65535).default(0),
});
export type MeshPeer = z.infer<typeof meshPeerSchema>;

/**
 * coordinator -> agent: the whole desired peer set of one node. `epoch` names the coordinator's
 * mesh state (a new one after its KV was wiped), `version` grows with every change within it.
 */
export const meshDesiredSchema = z.object({
  type: z.literal('desired'),
  node: nodeNameSchema,
  epoch: z.string().min(1).max(64),
  version: z.number().int().min(1),
  /** The node's own mesh address with the mesh's prefix length, e.g. 10.99.0.3/16. */
  address: ipv4CidrSchema,
  peers: z.array(meshPeerSchema).max(10_000),
  /** desiredStateHash(peers) as the coordinator computed it; the agent reports the live one back. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type MeshDesired = z.infer<typeof meshDesiredSchema>;

/** coordinator -> agent: make a new key pair and keep it staged (the interface keeps the old one). */
export const meshRotatePrepareSchema = z.object({ type: z.literal('rotate-prepare') });
/** coordinator -> agent: every peer knows the staged key now; switch the interface to it. */
export const meshRotateCommitSchema = z.object({ type: z.literal('rotate-commit'), publicKey: wgKeySchema });

export const meshCommandSchema = z.discriminatedUnion('type', [meshDesiredSchema, meshRotatePrepareSchema, meshRotateCommitSchema]);
export type MeshCommand = z.infer<typeof meshCommandSchema>;

export const meshCommandReplySchema = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  /** For desired: what the interface has now. */
  epoch: z.string().optional(),
  version: z.number().int().min(0).optional(),
  liveHash: z.string().optional(),
  /** For desired: the peers this push touched on the interface (a healthy peer is never among them). */
  changes: z.object({ added: z.number().int().min(0), updated: z.number().int().min(0), removed: z.number().int().min(0) }).optional(),
  /** For rotate-*: the key the interface uses after the command (commit) or the staged one (prepare). */
  publicKey: wgKeySchema.optional(),
  previousPublicKey: wgKeySchema.optional(),
});
export type MeshCommandReply = z.infer<typeof meshCommandReplySchema>;

/** Per peer, as the agent sees it. Ages, not timestamps, so clock skew between machines does not matter. */
export const meshPeerStatsSchema = z.object({
  publicKey: wgKeySchema,
  /** Seconds since the latest handshake; -1 = never. */
  handshakeAgeS: z.number().int().min(-1),
  rxBytes: z.number().int().min(0),
  txBytes: z.number().int().min(0),
  /** Seconds since rx last grew (as sampled by the agent). */
  silentS: z.number().int().min(0),
  endpoint: z.string().max(64).optional(),
});
export type MeshPeerStats = z.infer<typeof meshPeerStatsSchema>;

/** The `mesh` field of an agent's heartbeat (absent when the agent runs without --mesh-if). */
export const meshStatusSchema = z.object({
  ifname: z.string().min(1).max(15),
  /** The key the interface uses now. */
  publicKey: wgKeySchema,
  /** A rotation was prepared: the next key, not used yet. */
  stagedPublicKey: wgKeySchema.nullable().default(null),
  endpoint: meshEndpointSchema.nullable(),
  listenPort: z.number().int().min(0).max(65535),
  address: ipv4CidrSchema.nullable(),
  epoch: z.string().max(64).nullable(),
  appliedVersion: z.number().int().min(0),
  /** Hash of the desired set last applied, and of the interface as it is now (equal when in sync). */
  desiredHash: z.string().max(64).nullable(),
  liveHash: z.string().max(64).nullable(),
  error: z.string().max(2000).nullable().default(null),
  /** Per-peer figures; sent every few heartbeats only, to keep heartbeats small. */
  peers: z.array(meshPeerStatsSchema).max(10_000).optional(),
});
export type MeshStatus = z.infer<typeof meshStatusSchema>;

// ---- coordinator records in the JetStream KV bucket `mr_mesh` (parsed on load) ----

export const meshRotationSchema = z.object({ from: wgKeySchema, to: wgKeySchema, startedAt: z.number() });

/** A node or client in the mesh: its address is allocated once and kept until it is removed. */
export const meshMemberRecordSchema = z.object({
  name: nodeNameSchema,
  kind: meshMemberKindSchema,
  address: z.string().refine((s) => isIPv4(s), { message: 'must be an IPv4 address' }),
  publicKey: wgKeySchema,
  endpoint: meshEndpointSchema.nullable(),
  /** A key rotation in progress: peers get `to` first, then the node switches to it. */
  rotation: meshRotationSchema.nullable().default(null),
  createdAt: z.number(),
  /** Version and hash of the member's desired peer set (nodes; clients get theirs at join). */
  desiredVersion: z.number().int().min(0),
  desiredHash: z.string().nullable(),
});
export type MeshMemberRecord = z.infer<typeof meshMemberRecordSchema>;

export const meshMetaRecordSchema = z.object({
  epoch: z.string().min(1).max(64),
  /** Keys of removed nodes: never admitted again, even when their agent keeps heartbeating. */
  revoked: z.array(z.object({ publicKey: wgKeySchema, name: nodeNameSchema, at: z.number() })).default([]),
});
export type MeshMetaRecord = z.infer<typeof meshMetaRecordSchema>;

// ---- gRPC messages of the mesh calls (proto/meshrun.proto), as the loader hands them over ----

export interface MeshEdgeMsg {
  peer: string;
  peerKind: string;
  publicKey: string;
  endpoint: string;
  /** -1 = never. */
  handshakeAgeMs: number;
  rxBytes: number;
  txBytes: number;
  /** Time since rx last grew. */
  silentMs: number;
  /** ok | stale | never | unknown */
  health: string;
}
export interface MeshMemberMsg {
  name: string;
  kind: string;
  address: string;
  publicKey: string;
  endpoint: string;
  /** ready | suspect | down for nodes (the coordinator's view), `client` for clients. */
  state: string;
  desiredVersion: number;
  appliedVersion: number;
  inSync: boolean;
  desiredHash: string;
  liveHash: string;
  /** Time since the last mesh status from this node; -1 = none yet. */
  statusAgeMs: number;
  rotating: boolean;
  error: string;
  edges: MeshEdgeMsg[];
}
export interface MeshStatusMsg {
  cidr: string;
  epoch: string;
  keepaliveS: number;
  members: MeshMemberMsg[];
  revokedKeys: number;
}
export interface MeshPeerMsg {
  name: string;
  kind: string;
  publicKey: string;
  endpoint: string;
  allowedIps: string[];
  persistentKeepalive: number;
}
export interface MeshJoinMsg {
  client: string;
  address: string;
  prefixLength: number;
  cidr: string;
  peers: MeshPeerMsg[];
  nodesAcked: number;
  nodesPending: string[];
}
export interface MeshLeaveMsg {
  client: string;
  releasedAddress: string;
  nodesAcked: number;
  nodesPending: string[];
}
export interface MeshRotateMsg {
  node: string;
  previousPublicKey: string;
  publicKey: string;
  peersAcked: number;
  peersPending: string[];
  tookMs: number;
}
export interface NodeRemoveMsg {
  name: string;
  meshMember: boolean;
  releasedAddress: string;
  peersAcked: number;
  peersPending: string[];
  tookMs: number;
}
