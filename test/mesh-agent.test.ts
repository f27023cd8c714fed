// The agent's mesh manager with an in-memory WireGuard (the WgTool seam) and a real nats-server,
// so it runs without root: saved peers re-applied at start with no coordinator, minimal diffs,
// stale pushes ignored, drift repaired, and a rotation that stages before it switches.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshManager } from '../agent/mesh/mesh-manager.js';
import type { PeerSettings, WgDump, WgDumpPeer, WgTool } from '../agent/wg/wg-tool.js';
import { buildDesired, buildPeers } from '../coordinator/mesh/desired-set.js';
import { meshCommandReplySchema, type MeshCommand, type MeshMemberRecord } from '../proto/mesh.js';
import { Subjects } from '../proto/subjects.js';
import { silentLogger } from '../lib/log.js';
import { NatsServer, natsServerAvailable } from '../lib/nats-server.js';
import { requireTools } from './fleet/netns.js';
import { waitFor } from './harness/processes.js';

const cap = requireTools(['nats-server']);

interface FakeIf {
  privateKey: string | undefined;
  listenPort: number;
  addresses: string[];
  up: boolean;
  peers: Map<string, WgDumpPeer>;
}

/** WireGuard in memory: the same calls as wg-tool, recorded; keys are random 32-byte strings. */
class FakeWg implements WgTool {
  readonly ifs = new Map<string, FakeIf>();
  readonly calls: string[] = [];
  peerOps = 0;
  pub = (priv: string): string => createHash('sha256').update(priv).digest('base64');

  async genPrivateKey(): Promise<string> {
    return randomBytes(32).toString('base64');
  }
  async publicKeyOf(priv: string): Promise<string> {
    return this.pub(priv.trim());
  }
  private get(name: string): FakeIf {
    const i = this.ifs.get(name);
    if (!i) throw new Error(`Unable to access interface: No such device (${name})`);
    return i;
  }
  async createInterface(name: string) {
    this.calls.push(`create ${name}`);
    if (this.ifs.has(name)) return { backend: 'userspace' as const, created: false };
    this.ifs.set(name, { privateKey: undefined, listenPort: 0, addresses: [], up: false, peers: new Map() });
    return { backend: 'userspace' as const, created: true };
  }
  async deleteInterface(name: string) {
    this.calls.push(`delete ${name}`);
    this.ifs.delete(name);
  }
  async interfaceExists(name: string) {
    return this.ifs.has(name);
  }
  async setPrivateKey(name: string, keyFile: string, o: { listenPort?: number } = {}) {
    this.calls.push(`private-key ${name}`);
    const i = this.get(name);
    i.privateKey = readFileSync(keyFile, 'utf8').trim();
    if (o.listenPort !== undefined) i.listenPort = o.listenPort;
  }
  async setAddress(name: string, cidr: string) {
    this.calls.push(`address ${cidr}`);
    const i = this.get(name);
    if (!i.addresses.includes(cidr)) i.addresses.push(cidr);
  }
  async linkUp(name: string) {
    this.get(name).up = true;
  }
  async addRoute() {}
  async showDump(name: string): Promise<WgDump> {
    const i = this.get(name);
    return {
      interface: { hasPrivateKey: i.privateKey !== undefined, publicKey: i.privateKey ? this.pub(i.privateKey) : undefined, listenPort: i.listenPort, fwmark: 0 },
      peers: [...i.peers.values()].map((p) => ({ ...p, allowedIps: [...p.allowedIps] })),
    };
  }
  async setPeer(name: string, peer: PeerSettings) {
    await this.setPeers(name, { set: [peer] });
  }
  async removePeer(name: string, publicKey: string) {
    await this.setPeers(name, { remove: [publicKey] });
  }
  async createNetns() {}
  async deleteNetns() {}
  async setPeers(name: string, change: { set?: readonly PeerSettings[]; remove?: readonly string[] }) {
    const i = this.get(name);
    for (const k of change.remove ?? []) {
      i.peers.delete(k);
      this.peerOps++;
    }
    for (const s of change.set ?? []) {
      this.peerOps++;
      const p = i.peers.get(s.publicKey) ?? { publicKey: s.publicKey, hasPresharedKey: false, endpoint: undefined, allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0, persistentKeepalive: 0 };
      if (s.endpoint !== undefined) p.endpoint = s.endpoint;
      if (s.allowedIps !== undefined) p.allowedIps = [...s.allowedIps];
      if (s.persistentKeepalive !== undefined) {
        if (p.persistentKeepalive === 0 && s.persistentKeepalive > 0) this.calls.push(`keepalive-on ${s.publicKey.slice(0, 6)}`);
        p.persistentKeepalive = s.persistentKeepalive;
      }
      i.peers.set(s.publicKey, p);
    }
  }
}

const k = (): string => randomBytes(32).toString('base64');
const node = (name: string, n: number, kind: 'node' | 'client' = 'node'): MeshMemberRecord => ({
  name, kind, address: `10.88.0.${n}`, publicKey: k(), endpoint: kind === 'node' ? `192.0.2.${n}:51820` : null, rotation: null, createdAt: 0, desiredVersion: 0, desiredHash: null,
});

describe.skipIf(!cap.ok || !natsServerAvailable())(`agent mesh manager (${cap.reason})`, () => {
  const IF = 'mrfake0';
  let nats: NatsServer;
  let nc: NatsConnection;
  let dir: string;
  const wg = new FakeWg();
  let mgr: MeshManager;
  const self = node('self', 1);
  const others = [node('b', 2), node('c', 3), node('d', 4)];

  const desired = (version: number, members: MeshMemberRecord[], epoch = 'e1') => buildDesired(self, buildPeers(self, [self, ...members], { keepaliveS: 25 }), epoch, version, 24);
  const send = async (cmd: MeshCommand) => meshCommandReplySchema.parse(JSON.parse(new TextDecoder().decode((await nc.request(Subjects.meshCommand('self'), JSON.stringify(cmd), { timeout: 3000 })).data)));
  const newManager = () => new MeshManager({ node: 'self', ifname: IF, endpoint: '192.0.2.1:51820', listenPort: 51820, stateDir: dir, log: silentLogger, tool: wg, statsEveryMs: 100 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshrun-mesh-agent-'));
    nats = await NatsServer.start();
    nc = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await mgr?.close();
    await nc?.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('first start: makes the key pair (0600, never sent), brings the interface up, reports its public key', async () => {
    mgr = newManager();
    await mgr.start();
    mgr.attach(nc);
    const keyFile = join(dir, 'mesh', 'wg.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const st = mgr.heartbeatStatus()!;
    expect(st).toMatchObject({ ifname: IF, publicKey: wg.pub(readFileSync(keyFile, 'utf8').trim()), appliedVersion: 0, epoch: null, address: null, endpoint: '192.0.2.1:51820' });
    expect(JSON.stringify(st)).not.toContain(readFileSync(keyFile, 'utf8').trim());
    expect(wg.ifs.get(IF)).toMatchObject({ up: true, listenPort: 51820, addresses: [] });
  });

  it('applies a pushed set, answers with the version and the live hash, and saves it', async () => {
    const d = desired(1, others);
    const r = await send(d);
    expect(r).toMatchObject({ ok: true, epoch: 'e1', version: 1, liveHash: d.hash });
    expect(wg.ifs.get(IF)!.addresses).toEqual(['10.88.0.1/24']);
    expect([...wg.ifs.get(IF)!.peers.keys()].sort()).toEqual(others.map((o) => o.publicKey).sort());
    expect(JSON.parse(readFileSync(join(dir, 'mesh', 'desired.json'), 'utf8')).version).toBe(1);
    const st = mgr.heartbeatStatus()!;
    expect(st).toMatchObject({ appliedVersion: 1, desiredHash: d.hash, liveHash: d.hash, address: '10.88.0.1/24' });
  });

  it('a one-peer change touches one peer; an older version is ignored', async () => {
    const before = wg.peerOps;
    const changed = [...others.slice(0, 2), { ...others[2]!, endpoint: '192.0.2.44:51820' }];
    expect(await send(desired(2, changed))).toMatchObject({ ok: true, version: 2 });
    expect(wg.peerOps - before).toBe(1);
    const late = await send(desired(1, others));
    expect(late).toMatchObject({ ok: true, version: 2 });
    expect(wg.ifs.get(IF)!.peers.get(others[2]!.publicKey)!.endpoint).toBe('192.0.2.44:51820');
  });

  it('repairs drift: a peer removed behind its back comes back at the next check', async () => {
    wg.ifs.get(IF)!.peers.delete(others[0]!.publicKey);
    await waitFor('peer restored', () => wg.ifs.get(IF)!.peers.has(others[0]!.publicKey), 3000, 20);
  });

  it('per-peer figures go into a heartbeat only when a new sample was taken', async () => {
    await new Promise((r) => setTimeout(r, 150));
    expect(mgr.heartbeatStatus()!.peers).toHaveLength(3);
    expect(mgr.heartbeatStatus()!.peers).toBeUndefined();
  });

  it('restart with no coordinator and no interface (a reboot): the saved set comes back', async () => {
    await mgr.close();
    await nc.close();
    await wg.deleteInterface(IF);
    mgr = newManager();
    await mgr.start();
    const i = wg.ifs.get(IF)!;
    expect(i.addresses).toEqual(['10.88.0.1/24']);
    expect(i.peers.size).toBe(3);
    expect(mgr.heartbeatStatus()).toMatchObject({ appliedVersion: 2, epoch: 'e1' });
    nc = await connect({ servers: nats.url });
    mgr.attach(nc);
  });

  it('rotation: prepare stages a new key without touching the interface; commit switches and re-handshakes every peer', async () => {
    const old = mgr.heartbeatStatus()!.publicKey;
    const prep = await send({ type: 'rotate-prepare' });
    expect(prep.ok).toBe(true);
    expect(prep.previousPublicKey).toBe(old);
    expect(prep.publicKey).not.toBe(old);
    expect(await send({ type: 'rotate-prepare' }), 'a repeated prepare returns the same staged key').toMatchObject({ publicKey: prep.publicKey });
    expect(mgr.heartbeatStatus()).toMatchObject({ publicKey: old, stagedPublicKey: prep.publicKey });
    expect((await wg.showDump(IF)).interface.publicKey).toBe(old);
    expect(await send({ type: 'rotate-commit', publicKey: k() })).toMatchObject({ ok: false });
    const calls = wg.calls.length;
    expect(await send({ type: 'rotate-commit', publicKey: prep.publicKey! })).toMatchObject({ ok: true, publicKey: prep.publicKey });
    expect((await wg.showDump(IF)).interface.publicKey).toBe(prep.publicKey);
    expect(wg.calls.slice(calls).filter((c) => c.startsWith('keepalive-on'))).toHaveLength(3);
    expect(existsSync(join(dir, 'mesh', 'wg.key.old'))).toBe(false);
    expect(mgr.heartbeatStatus()).toMatchObject({ publicKey: prep.publicKey, stagedPublicKey: null });
  });

  it('garbage and misaddressed commands on the mesh subject are refused with the field named, and change nothing', async () => {
    const raw = async (data: string) => JSON.parse(new TextDecoder().decode((await nc.request(Subjects.meshCommand('self'), data, { timeout: 3000 })).data)) as { ok: boolean; error?: string };
    const peers = wg.ifs.get(IF)!.peers.size;
    expect(await raw('not json')).toMatchObject({ ok: false, error: expect.stringMatching(/invalid mesh command/) });
    const bad = await raw(JSON.stringify({ ...desired(99, others), address: '10.88.0.1', peers: [{ name: 'x', kind: 'node', publicKey: 'k', allowedIps: ['10.0.0.0/8'] }] }));
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/address: .*IPv4 prefix/);
    expect(bad.error).toMatch(/peers\[0\]\.publicKey/);
    expect(await raw(JSON.stringify({ ...desired(99, others), node: 'other' }))).toMatchObject({ ok: false, error: expect.stringMatching(/sent to self/) });
    expect(wg.ifs.get(IF)!.peers.size).toBe(peers);
    expect(mgr.heartbeatStatus()!.appliedVersion).toBe(2);
  });

  it('a new epoch (the coordinator lost its state) is taken even with a lower version', async () => {
    expect(await send(desired(1, others.slice(0, 1), 'e2'))).toMatchObject({ ok: true, epoch: 'e2', version: 1 });
    expect(wg.ifs.get(IF)!.peers.size).toBe(1);
  });
});
