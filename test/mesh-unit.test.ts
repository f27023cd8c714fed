// The mesh's pure parts: address allocation, desired-set building and versioning, edge health,
// the wire schemas, and the daemons' mesh flags.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { desiredStateHash, meshPeersHash, toDesiredPeers } from '../proto/mesh-hash.js';
import { diffPeers } from '../agent/wg/peer-diff.js';
import { agentMeshOptions, coordinatorMeshSettings } from '../cli/commands/mesh-daemons.js';
import { ExitError } from '../cli/exit.js';
import { allocateAddress, capacity, contains, intToIp, ipToInt, parseMeshCidr } from '../coordinator/mesh/allocator.js';
import { buildDesired, buildPeers, contentHash, effectiveKey, nextVersion } from '../coordinator/mesh/desired-set.js';
import { edgeHealth, keyIndex, memberMsg, staleAfterS } from '../coordinator/mesh/status-view.js';
import { meshCommandSchema, meshDesiredSchema, meshEndpointSchema, meshStatusSchema, type MeshMemberRecord } from '../proto/mesh.js';
import { heartbeatSchema } from '../proto/bus.js';
import { meshJoinRequestSchema } from '../proto/grpc.js';

const key = (): string => randomBytes(32).toString('base64');

function member(name: string, address: string, o: Partial<MeshMemberRecord> = {}): MeshMemberRecord {
  return { name, kind: 'node', address, publicKey: key(), endpoint: `192.0.2.${address.split('.')[3]}:51820`, rotation: null, createdAt: 0, desiredVersion: 0, desiredHash: null, ...o };
}

describe('address allocation', () => {
  it('parses a CIDR and refuses host bits, tiny and huge prefixes, and non-IPv4', () => {
    expect(parseMeshCidr('10.99.0.0/16')).toEqual({ network: ipToInt('10.99.0.0'), bits: 16 });
    expect(() => parseMeshCidr('10.99.1.0/16')).toThrow(/host bits are set \(did you mean 10\.99\.0\.0\/16\?\)/);
    expect(() => parseMeshCidr('10.99.0.0/31')).toThrow(/between 8 and 30/);
    expect(() => parseMeshCidr('10.0.0.0/4')).toThrow(/between 8 and 30/);
    expect(() => parseMeshCidr('fd00::/64')).toThrow(/IPv4/);
    expect(() => parseMeshCidr('10.99.0.0')).toThrow(/expected an IPv4 prefix/);
  });

  it('hands out the lowest free host address, never the network or broadcast address', () => {
    const net = parseMeshCidr('10.99.0.0/29');
    expect(capacity(net)).toBe(6);
    expect(allocateAddress(net, [])).toBe('10.99.0.1');
    expect(allocateAddress(net, ['10.99.0.1', '10.99.0.2', '10.99.0.4'])).toBe('10.99.0.3');
    // addresses outside the CIDR (an old allocation from another range) do not count
    expect(allocateAddress(net, ['10.98.0.1'])).toBe('10.99.0.1');
    const full = ['10.99.0.1', '10.99.0.2', '10.99.0.3', '10.99.0.4', '10.99.0.5', '10.99.0.6'];
    expect(() => allocateAddress(net, full)).toThrow(/is full \(6 addresses in use\)/);
  });

  it('is stable: an address in use is never handed out again, a freed one is', () => {
    const net = parseMeshCidr('10.99.0.0/24');
    const used: string[] = [];
    for (let i = 0; i < 10; i++) used.push(allocateAddress(net, used));
    expect(new Set(used).size).toBe(10);
    const freed = used.splice(3, 1)[0]!;
    expect(allocateAddress(net, used)).toBe(freed);
  });

  it('converts addresses both ways and checks membership', () => {
    expect(intToIp(ipToInt('192.168.255.1'))).toBe('192.168.255.1');
    expect(contains(parseMeshCidr('10.99.0.0/16'), '10.99.200.3')).toBe(true);
    expect(contains(parseMeshCidr('10.99.0.0/16'), '10.100.0.1')).toBe(false);
    expect(contains(parseMeshCidr('10.99.0.0/16'), 'not-an-ip')).toBe(false);
  });
});

describe('desired peer sets', () => {
  const a = member('a', '10.99.0.1');
  const b = member('b', '10.99.0.2');
  const c = member('c', '10.99.0.3', { endpoint: null });
  const ws = member('ws', '10.99.0.9', { kind: 'client', endpoint: null });

  it('a node peers with every other node and every client, each limited to its /32', () => {
    const peers = buildPeers(a, [a, b, c, ws], { keepaliveS: 25 });
    expect(peers.map((p) => [p.name, p.kind, p.allowedIps, p.persistentKeepalive])).toEqual([
      ['b', 'node', ['10.99.0.2/32'], 25],
      ['c', 'node', ['10.99.0.3/32'], 25],
      // nothing is kept alive towards a client: when it is off, the fleet sends it nothing
      ['ws', 'client', ['10.99.0.9/32'], 0],
    ]);
    expect(peers[0]!.endpoint).toBe(b.endpoint);
    expect('endpoint' in peers[1]!).toBe(false);
  });

  it('a client peers with nodes only and keeps its own path alive', () => {
    const ws2 = member('ws2', '10.99.0.10', { kind: 'client' });
    const peers = buildPeers(ws, [a, b, ws, ws2], { keepaliveS: 25 });
    expect(peers.map((p) => [p.name, p.persistentKeepalive])).toEqual([['a', 25], ['b', 25]]);
  });

  it('during a rotation peers get the new key', () => {
    const rotating = { ...b, rotation: { from: b.publicKey, to: key(), startedAt: 1 } };
    expect(effectiveKey(rotating)).toBe(rotating.rotation.to);
    expect(buildPeers(a, [a, rotating], { keepaliveS: 0 })[0]!.publicKey).toBe(rotating.rotation.to);
  });

  it('versions follow content: the same set keeps its version, any change bumps it by one', () => {
    const peers = buildPeers(a, [a, b], { keepaliveS: 25 });
    const h1 = contentHash(a, peers, 24);
    expect(nextVersion({ version: 0, hash: null }, h1)).toBe(1);
    expect(nextVersion({ version: 4, hash: h1 }, h1)).toBe(4);
    const h2 = contentHash(a, buildPeers(a, [a, b, c], { keepaliveS: 25 }), 24);
    expect(nextVersion({ version: 4, hash: h1 }, h2)).toBe(5);
    // the node's own address is part of the content too
    expect(contentHash({ ...a, address: '10.99.0.7' }, peers, 24)).not.toBe(h1);
  });

  it('the desired message validates, and its hash is what peer-diff computes on the agent', () => {
    const peers = buildPeers(a, [a, b, c, ws], { keepaliveS: 25 });
    const d = buildDesired(a, peers, 'epoch1', 3, 24);
    expect(meshDesiredSchema.parse(d)).toEqual(d);
    expect(d.address).toBe('10.99.0.1/24');
    expect(d.hash).toBe(desiredStateHash(toDesiredPeers(peers)));
    expect(meshPeersHash(peers)).toBe(d.hash);
    // a peer's live state equal to the desired one gives an empty diff
    const live = toDesiredPeers(peers).map((p) => ({ publicKey: p.publicKey, hasPresharedKey: false, endpoint: p.endpoint, allowedIps: [...p.allowedIps], latestHandshake: 0, rxBytes: 0, txBytes: 0, persistentKeepalive: p.persistentKeepalive ?? 0 }));
    expect(diffPeers(toDesiredPeers(peers), live)).toEqual([]);
  });
});

describe('edge health', () => {
  it('is stale when the peer is silent for a few keepalives or the handshake is past WireGuard\'s reject time', () => {
    expect(staleAfterS(25)).toBe(55);
    expect(staleAfterS(0)).toBe(180);
    expect(edgeHealth({ handshakeAgeS: -1, silentS: 0 }, 25)).toBe('never');
    expect(edgeHealth({ handshakeAgeS: 100, silentS: 10 }, 25)).toBe('ok');
    expect(edgeHealth({ handshakeAgeS: 100, silentS: 56 }, 25)).toBe('stale');
    expect(edgeHealth({ handshakeAgeS: 181, silentS: 0 }, 25)).toBe('stale');
    // without keepalive, silence means nothing: only the handshake age counts
    expect(edgeHealth({ handshakeAgeS: 170, silentS: 170 }, 0)).toBe('ok');
  });

  it('member status: in sync only when the applied version, hashes and key match; ages move on with time', () => {
    const a = member('a', '10.99.0.1');
    const b = member('b', '10.99.0.2');
    const peers = buildPeers(a, [a, b], { keepaliveS: 5 });
    const d = buildDesired(a, peers, 'e1', 2, 24);
    const status = meshStatusSchema.parse({
      ifname: 'mr0', publicKey: a.publicKey, endpoint: a.endpoint, listenPort: 51820, address: d.address, epoch: 'e1', appliedVersion: 2, desiredHash: d.hash, liveHash: d.hash,
      peers: [{ publicKey: b.publicKey, handshakeAgeS: 3, rxBytes: 100, txBytes: 200, silentS: 1 }],
    });
    const view = { member: a, state: 'ready', desiredVersion: 2, desiredHash: d.hash, reported: { status, receivedAt: 1000, peers: status.peers, peersAt: 1000 } };
    // with a 5 s keepalive a peer silent for more than 15 s is stale
    expect(memberMsg(view, 'e1', 5, keyIndex([a, b]), 1000 + 14_000).edges[0]!.health).toBe('ok');
    const now = 1000 + 16_000;
    const msg = memberMsg(view, 'e1', 5, keyIndex([a, b]), now);
    expect(msg).toMatchObject({ name: 'a', appliedVersion: 2, desiredVersion: 2, inSync: true, statusAgeMs: 16_000 });
    expect(msg.edges).toEqual([expect.objectContaining({ peer: 'b', peerKind: 'node', handshakeAgeMs: 19_000, silentMs: 17_000, health: 'stale' })]);
    expect(memberMsg({ ...view, desiredVersion: 3 }, 'e1', 5, keyIndex([a, b]), now).inSync).toBe(false);
    expect(memberMsg(view, 'another-epoch', 5, keyIndex([a, b]), now)).toMatchObject({ inSync: false, appliedVersion: 0 });
    expect(memberMsg({ ...view, reported: { ...view.reported, status: { ...status, liveHash: 'x' } } }, 'e1', 5, keyIndex([a, b]), now).inSync).toBe(false);
  });
});

describe('mesh wire schemas', () => {
  it('accepts literal ip:port endpoints only', () => {
    expect(meshEndpointSchema.safeParse('10.0.0.1:51820').success).toBe(true);
    expect(meshEndpointSchema.safeParse('[fd00::1]:51820').success).toBe(true);
    expect(meshEndpointSchema.safeParse('host.example:51820').success).toBe(false);
    expect(meshEndpointSchema.safeParse('10.0.0.1:0').success).toBe(false);
    expect(meshEndpointSchema.safeParse('10.0.0.1').success).toBe(false);
  });

  it('names the field of a bad command', () => {
    const r = meshCommandSchema.safeParse({ type: 'desired', node: 'a', epoch: 'e', version: 0, address: '10.0.0.1/24', peers: [{ name: 'b', kind: 'node', publicKey: 'nope', allowedIps: [] }], hash: 'x' });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['version', 'peers.0.publicKey', 'peers.0.allowedIps', 'hash']));
    expect(meshCommandSchema.safeParse({ type: 'rotate-commit', publicKey: key() }).success).toBe(true);
    expect(meshCommandSchema.safeParse({ type: 'format-disk' }).success).toBe(false);
  });

  it('a heartbeat with a broken mesh field still parses as a heartbeat (the mesh part is checked on its own)', () => {
    const hb = { node: 'a', instance: 'x', labels: {}, slots: 1, standby: false, version: '1', runs: [], sentAt: 1, mesh: { junk: true } };
    expect(heartbeatSchema.safeParse(hb).success).toBe(true);
    expect(meshStatusSchema.safeParse(hb.mesh).success).toBe(false);
  });

  it('join requests carry a public key and an optional endpoint', () => {
    expect(meshJoinRequestSchema.parse({ client: 'ws', publicKey: key() }).endpoint).toBe('');
    expect(meshJoinRequestSchema.safeParse({ client: 'ws', publicKey: key(), endpoint: 'laptop:1' }).success).toBe(false);
    expect(meshJoinRequestSchema.safeParse({ client: '../x', publicKey: key() }).success).toBe(false);
  });
});

describe('daemon mesh flags', () => {
  const usage = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ExitError);
      return (err as Error).message;
    }
    throw new Error('did not throw');
  };

  it('agent: off without --mesh-if, validated with it, flags over config', () => {
    expect(agentMeshOptions({}, {})).toBeUndefined();
    expect(agentMeshOptions({ meshIf: 'mr0' }, {})).toEqual({ ifname: 'mr0', listenPort: 51820 });
    expect(agentMeshOptions({ meshIf: 'mr0', meshPort: '51000' }, { meshIf: 'x', meshPort: 1, meshEndpoint: '192.0.2.1:51000' })).toEqual({ ifname: 'mr0', listenPort: 51000, endpoint: '192.0.2.1:51000' });
    expect(usage(() => agentMeshOptions({ meshEndpoint: '1.2.3.4:1' }, {}))).toMatch(/need --mesh-if/);
    expect(usage(() => agentMeshOptions({ meshIf: 'a-name-that-is-too-long' }, {}))).toMatch(/--mesh-if/);
    expect(usage(() => agentMeshOptions({ meshIf: 'mr0', meshEndpoint: 'node1:51820' }, {}))).toMatch(/literal IP/);
    expect(usage(() => agentMeshOptions({ meshIf: 'mr0', meshPort: '70000' }, {}))).toMatch(/UDP port/);
  });

  it('coordinator: CIDR and keepalive checked before anything starts', () => {
    expect(coordinatorMeshSettings({}, {})).toEqual({ cidr: '10.99.0.0/16', keepaliveS: 25 });
    expect(coordinatorMeshSettings({ meshKeepalive: '0' }, { meshCidr: '10.5.0.0/24' })).toEqual({ cidr: '10.5.0.0/24', keepaliveS: 0 });
    expect(usage(() => coordinatorMeshSettings({ meshCidr: '10.5.0.1/24' }, {}))).toMatch(/host bits/);
    expect(usage(() => coordinatorMeshSettings({ meshKeepalive: 'soon' }, {}))).toMatch(/duration/);
  });
});
