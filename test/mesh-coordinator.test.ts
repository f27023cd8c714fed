// The coordinator's mesh half against a real nats-server (no root needed): agents are stand-ins
// that heartbeat a mesh status and answer pushes, so each rule can be driven and observed exactly.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MeshCoordinator } from '../coordinator/mesh/mesh-coordinator.js';
import { meshCommandSchema, type MeshCommandReply, type MeshDesired } from '../proto/mesh.js';
import { Subjects } from '../proto/subjects.js';
import { silentLogger } from '../lib/log.js';
import { NatsServer, natsServerAvailable } from '../lib/nats-server.js';
import { requireTools } from './fleet/netns.js';
import { waitFor } from './harness/processes.js';

const cap = requireTools(['nats-server']);
const key = (): string => randomBytes(32).toString('base64');

class StandIn {
  key = key();
  staged: string | undefined;
  applied: { epoch: string; version: number; hash: string } | undefined;
  answer = true;
  readonly pushes: MeshDesired[] = [];
  readonly events: { at: number; what: string }[] = [];
  private timer: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    readonly name: string,
    readonly endpoint: string,
  ) {
    nc.subscribe(Subjects.meshCommand(name), {
      callback: (_err, msg) => {
        const cmd = meshCommandSchema.parse(JSON.parse(new TextDecoder().decode(msg.data)));
        if (!this.answer) return;
        let reply: MeshCommandReply;
        if (cmd.type === 'desired') {
          this.pushes.push(cmd);
          this.events.push({ at: performance.now(), what: `desired v${cmd.version}: ${cmd.peers.map((p) => `${p.name}=${p.publicKey.slice(0, 6)}`).join(',')}` });
          if (!this.applied || this.applied.epoch !== cmd.epoch || cmd.version >= this.applied.version) this.applied = { epoch: cmd.epoch, version: cmd.version, hash: cmd.hash };
          reply = { ok: true, epoch: this.applied.epoch, version: this.applied.version, liveHash: this.applied.hash };
        } else if (cmd.type === 'rotate-prepare') {
          this.staged ??= key();
          reply = { ok: true, publicKey: this.staged, previousPublicKey: this.key };
        } else {
          this.events.push({ at: performance.now(), what: 'commit' });
          if (cmd.publicKey === this.staged) [this.key, this.staged] = [this.staged, undefined];
          reply = { ok: cmd.publicKey === this.key, publicKey: this.key };
        }
        msg.respond(JSON.stringify(reply));
      },
    });
    this.timer = setInterval(() => this.heartbeat(), 200);
    this.heartbeat();
  }

  heartbeat(): void {
    const mesh = {
      ifname: `mr-${this.name}`, publicKey: this.key, stagedPublicKey: this.staged ?? null, endpoint: this.endpoint, listenPort: 51820,
      address: null, epoch: this.applied?.epoch ?? null, appliedVersion: this.applied?.version ?? 0, desiredHash: this.applied?.hash ?? null, liveHash: this.applied?.hash ?? null, error: null,
    };
    const hb = { node: this.name, instance: 'standin', labels: {}, slots: 1, standby: false, version: 'test', runs: [], sentAt: Date.now(), mesh };
    this.nc.publish(Subjects.heartbeat(this.name), JSON.stringify(hb));
  }

  last(): MeshDesired | undefined {
    return this.pushes[this.pushes.length - 1];
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

describe.skipIf(!cap.ok || !natsServerAvailable())(`mesh coordinator over a real nats-server (${cap.reason})`, () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let mesh: MeshCoordinator | undefined;
  const standIns: StandIn[] = [];
  const ready = new Set<string>();

  const startMesh = async (): Promise<MeshCoordinator> => {
    const m = new MeshCoordinator({ nc, cidr: '10.77.0.0/24', keepaliveS: 25, log: silentLogger, nodeState: (n) => (ready.has(n) ? 'ready' : undefined), ackWaitMs: 3000, pushTimeoutMs: 300 });
    await m.start();
    return m;
  };
  const standIn = (name: string, n: number): StandIn => {
    const s = new StandIn(nc, name, `192.0.2.${n}:51820`);
    standIns.push(s);
    ready.add(name);
    return s;
  };
  const member = (name: string) => mesh!.status().members.find((m) => m.name === name);

  beforeAll(async () => {
    nats = await NatsServer.start();
    nc = await connect({ servers: nats.url });
  });

  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
  });

  afterAll(async () => {
    for (const s of standIns) s.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('admits nodes from heartbeats, allocates stable addresses, pushes each its peers, and keeps versions across a restart', async () => {
    mesh = await startMesh();
    const a = standIn('a', 1);
    const b = standIn('b', 2);
    await waitFor('a and b in sync', () => ['a', 'b'].every((n) => member(n)?.inSync), 10_000);
    expect(member('a')!.address).not.toBe(member('b')!.address);
    expect(a.last()!.peers).toEqual([expect.objectContaining({ name: 'b', publicKey: b.key, endpoint: '192.0.2.2:51820', allowedIps: [`${member('b')!.address}/32`], persistentKeepalive: 25 })]);
    const before = mesh.status();
    const pushesBefore = a.pushes.length + b.pushes.length;

    await mesh.close();
    mesh = await startMesh();
    await waitFor('in sync after the restart', () => ['a', 'b'].every((n) => member(n)?.inSync), 10_000);
    await new Promise((r) => setTimeout(r, 3500));
    const after = mesh.status();
    expect(after.epoch).toBe(before.epoch);
    expect(after.members.map((m) => [m.name, m.address, m.desiredVersion])).toEqual(before.members.map((m) => [m.name, m.address, m.desiredVersion]));
    expect(a.pushes.length + b.pushes.length, 'nothing new to push: heartbeats said what was applied').toBe(pushesBefore);
  });

  it('a heartbeat whose mesh status is malformed admits nothing and disturbs no one', async () => {
    mesh = await startMesh();
    await waitFor('a and b in sync', () => ['a', 'b'].every((n) => member(n)?.inSync), 10_000);
    const hb = (mesh_: unknown) => JSON.stringify({ node: 'junk', instance: 'x', labels: {}, slots: 1, standby: false, version: 't', runs: [], sentAt: Date.now(), mesh: mesh_ });
    nc.publish(Subjects.heartbeat('junk'), hb({ ifname: 'x', publicKey: 'not-a-key' }));
    nc.publish(Subjects.heartbeat('junk'), hb('garbage'));
    nc.publish(Subjects.heartbeat('junk'), 'not json at all');
    // a heartbeat on another node's subject is not that node's
    nc.publish(Subjects.heartbeat('a'), hb({ ifname: 'x', publicKey: key(), endpoint: null, listenPort: 1, address: null, epoch: null, appliedVersion: 0, desiredHash: null, liveHash: null }));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 500));
    expect(mesh.status().members.map((m) => m.name)).toEqual(['a', 'b']);
    expect(member('a')!.inSync).toBe(true);
  });

  it('retries a push until the agent acknowledges it, and pushes again when a heartbeat shows it lost its state', async () => {
    mesh = await startMesh();
    const c = standIn('c', 3);
    c.answer = false;
    await waitFor('c admitted', () => member('c'), 5000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(member('c')!.inSync).toBe(false);
    c.answer = true;
    await waitFor('c in sync once it answers', () => member('c')?.inSync, 10_000);
    const pushes = c.pushes.length;
    // the agent's state dir was wiped: it reports nothing applied, and gets its set again at once
    c.applied = undefined;
    c.heartbeat();
    await waitFor('c pushed again', () => c.pushes.length > pushes, 3000);
    await waitFor('c in sync again', () => member('c')?.inSync, 5000);
  });

  it('rotation moves every peer to the new key before the node switches to it', async () => {
    mesh = await startMesh();
    await waitFor('a, b, c in sync', () => ['a', 'b', 'c'].every((n) => member(n)?.inSync), 10_000);
    const b = standIns.find((s) => s.name === 'b')!;
    const old = b.key;
    const r = await mesh.rotateKey('b');
    expect(r).toMatchObject({ node: 'b', previousPublicKey: old, publicKey: b.key, peersAcked: 2, peersPending: [] });
    const commitAt = b.events.find((e) => e.what === 'commit')!.at;
    for (const peer of standIns.filter((s) => s.name !== 'b')) {
      const got = peer.events.find((e) => e.what.includes(`b=${r.publicKey.slice(0, 6)}`));
      expect(got, `${peer.name} got b's new key`).toBeDefined();
      expect(got!.at).toBeLessThan(commitAt);
    }
    await waitFor('b in sync with its new key', () => member('b')?.inSync && member('b')!.publicKey === r.publicKey, 5000);
  });

  it('a client gets peers to nodes only; nodes accept only its /32; leave takes it away again', async () => {
    mesh = await startMesh();
    const a = standIns.find((s) => s.name === 'a')!;
    const j = await mesh.join('ws', key(), null);
    expect(j.peers.map((p) => p.name).sort()).toEqual(['a', 'b', 'c']);
    expect(j.nodesPending).toEqual([]);
    expect(a.last()!.peers.find((p) => p.name === 'ws')).toMatchObject({ kind: 'client', allowedIps: [`${j.address}/32`], persistentKeepalive: 0 });
    await expect(mesh.join('ws2', a.key, null)).rejects.toThrow(/already used by node a/);
    const l = await mesh.leave('ws');
    expect(l.releasedAddress).toBe(j.address);
    expect(a.last()!.peers.map((p) => p.name)).toEqual(['b', 'c']);
  });

  it('node remove revokes the key on every peer; the node is not admitted again with that key', async () => {
    mesh = await startMesh();
    const c = standIns.find((s) => s.name === 'c')!;
    await waitFor('all in sync', () => ['a', 'b', 'c'].every((n) => member(n)?.inSync), 10_000);
    const r = await mesh.removeNode('c');
    expect(r).toMatchObject({ meshMember: true, peersAcked: 2, peersPending: [] });
    for (const s of standIns.filter((x) => x.name !== 'c')) expect(s.last()!.peers.map((p) => p.name)).not.toContain('c');
    await waitFor('c told to drop its peers', () => c.last()?.peers.length === 0, 3000);
    await new Promise((res) => setTimeout(res, 1000));
    expect(member('c')).toBeUndefined();
    expect(mesh.status().revokedKeys).toBe(1);
    // with a new key it is a new member, whose versions continue where its agent is
    const applied = c.applied!.version;
    c.key = key();
    await waitFor('c admitted with its new key', () => member('c')?.inSync, 5000);
    expect(member('c')!.desiredVersion).toBeGreaterThan(applied);
  });

  it('a changed --mesh-cidr moves every member into the new range (the one case an address changes)', async () => {
    mesh = new MeshCoordinator({ nc, cidr: '10.78.0.0/24', keepaliveS: 25, log: silentLogger, nodeState: (n) => (ready.has(n) ? 'ready' : undefined), ackWaitMs: 3000, pushTimeoutMs: 300 });
    await mesh.start();
    expect(mesh.status().members.every((m) => m.address.startsWith('10.78.0.'))).toBe(true);
    const a = standIns.find((s) => s.name === 'a')!;
    await waitFor('a told its new address', () => a.last()?.address.startsWith('10.78.0.'), 5000);
  });
});
