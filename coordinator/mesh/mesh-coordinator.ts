// The coordinator's half of the mesh: members learned from agent heartbeats (and clients that
// join), addresses allocated once, a versioned desired peer set per node pushed on change and
// retried until acknowledged, and the agents' reported state compared with what was pushed.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { heartbeatSchema } from '../../proto/bus.js';
import {
  meshCommandReplySchema,
  meshStatusSchema,
  type MeshCommand,
  type MeshCommandReply,
  type MeshDesired,
  type MeshJoinMsg,
  type MeshLeaveMsg,
  type MeshMemberKind,
  type MeshMemberRecord,
  type MeshMetaRecord,
  type MeshRotateMsg,
  type MeshStatus,
  type MeshStatusMsg,
  type NodeRemoveMsg,
} from '../../proto/mesh.js';
import { decode } from '../../proto/decode.js';
import { meshPeersHash } from '../../proto/mesh-hash.js';
import { Subjects } from '../../proto/subjects.js';
import { parseWith } from '../../proto/validation.js';
import { Backoff, sleep } from '../../lib/backoff.js';
import { ErrorCode, InvalidInputError, MeshrunError } from '../../lib/errors.js';
import { Lifecycle, SerialQueue } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { allocateAddress, contains, formatNet, parseMeshCidr, type Ipv4Net } from './allocator.js';
import { buildDesired, buildPeers, contentHash, nextVersion } from './desired-set.js';
import { memberKey, MeshStore } from './mesh-store.js';
import { keyIndex, memberMsg, type ReportedStatus } from './status-view.js';

export { DEFAULT_MESH_CIDR, DEFAULT_MESH_KEEPALIVE_S } from '../../proto/config.js';

export interface MeshCoordinatorOptions {
  nc: NatsConnection;
  /** @default DEFAULT_MESH_CIDR */
  cidr: string;
  /** Persistent keepalive between nodes, in seconds (0 = off). @default 25 */
  keepaliveS: number;
  log: Logger;
  /** Liveness of a node as the coordinator core sees it; undefined for an unknown or removed node. */
  nodeState(name: string): string | undefined;
  /** How long a CLI call (remove, rotate, join, leave) waits for ready nodes to acknowledge. @default 5000 */
  ackWaitMs: number;
  /** Timeout of one push request to an agent. @default 2000 */
  pushTimeoutMs: number;
  /** Heartbeats as the coordinator core receives them; without it the mesh subscribes itself (tests). */
  observeHeartbeats?: (fn: (subject: string, data: Uint8Array) => void) => void;
}

export type MeshCoordinatorState = 'NEW' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED';

interface PushState {
  inFlight: boolean;
  ackedEpoch: string | null;
  ackedVersion: number;
  sentVersion: number;
  lastSentAt: number;
  /** Counts failed pushes; the next retry waits `peek()`. */
  backoff: Backoff;
  lastCommitAt: number;
}

const FIRST_RETRY_MS = 250;
const MAX_BACKOFF_MS = 5000;
/** Pushes wait this long after a coordinator start for heartbeats to say what agents already have. */
const START_QUIET_MS = 3000;
/** In every heartbeat that has a mesh status (`JSON.stringify` writes keys as they are). */
const MESH_KEY = Buffer.from('"mesh"');

export class MeshCoordinator {
  private readonly life: Lifecycle<MeshCoordinatorState>;
  private readonly queue: SerialQueue;
  private store!: MeshStore;
  private meta!: MeshMetaRecord;
  private readonly net: Ipv4Net;
  private readonly members = new Map<string, MeshMemberRecord>();
  private readonly desired = new Map<string, MeshDesired>();
  private readonly reported = new Map<string, ReportedStatus>();
  private readonly pushes = new Map<string, PushState>();
  private readonly warned = new Map<string, string>();
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private rebuildPending = false;

  constructor(private readonly opts: MeshCoordinatorOptions) {
    this.net = parseMeshCidr(opts.cidr);
    this.life = new Lifecycle('mesh coordinator', 'NEW', opts.log);
    this.queue = new SerialQueue(opts.log, 'mesh step failed');
  }

  async start(): Promise<void> {
    if (this.life.state !== 'NEW') return;
    this.life.set('STARTING');
    this.store = await MeshStore.open(this.opts.nc, this.opts.log);
    this.meta = await this.store.loadMeta();
    for (const m of await this.store.loadMembers()) this.members.set(memberKey(m.kind, m.name), m);
    for (const m of this.members.values()) {
      if (contains(this.net, m.address)) continue;
      // --mesh-cidr changed: the only case where a member's address changes while it exists.
      const from = m.address;
      m.address = allocateAddress(this.net, this.usedAddresses());
      await this.store.saveMember(m);
      this.opts.log.warn('mesh address outside the configured CIDR; moved', { member: `${m.kind} ${m.name}`, from, to: m.address });
    }
    await this.rebuild();
    // Heartbeats are observed, never answered: the coordinator core replies to them. Through
    // the core's own subscription when it offers one: a second subscriber here would keep the
    // subject's interest alive while the core, unsure it leads, has unsubscribed, and agents
    // would wait out a timeout instead of learning at once that nobody answers.
    if (this.opts.observeHeartbeats) this.opts.observeHeartbeats((subject, data) => this.onHeartbeat(subject, data));
    else {
      this.sub = this.opts.nc.subscribe(Subjects.heartbeatWildcard, {
        callback: (err, msg) => {
          if (!err) this.onHeartbeat(msg.subject, msg.data);
        },
      });
    }
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.pushTick(), 250);
    this.life.set('RUNNING');
    this.opts.log.info('mesh state loaded', { cidr: formatNet(this.net), epoch: this.meta.epoch, members: this.members.size, revoked: this.meta.revoked.length });
  }

  close(): Promise<void> {
    return this.life.closeOnce(async () => {
      this.life.set('STOPPING');
      if (this.timer) clearInterval(this.timer);
      this.sub?.unsubscribe();
      await this.queue.idle();
      this.life.set('STOPPED');
    });
  }

  // ---- members and desired sets ----

  private nodeMember(name: string): MeshMemberRecord | undefined {
    return this.members.get(memberKey('node', name));
  }

  /** Recomputes every node's desired set; a changed one gets the next version (persisted first). */
  private async rebuild(): Promise<void> {
    const all = [...this.members.values()];
    const nodes = new Set<string>();
    for (const m of all) {
      if (m.kind !== 'node') continue;
      nodes.add(m.name);
      const peers = buildPeers(m, all, { keepaliveS: this.opts.keepaliveS });
      const hash = contentHash(m, peers, this.net.bits);
      const version = Math.max(1, nextVersion({ version: m.desiredVersion, hash: m.desiredHash }, hash));
      if (version !== m.desiredVersion || hash !== m.desiredHash) {
        m.desiredVersion = version;
        m.desiredHash = hash;
        await this.store.saveMember(m);
      }
      this.desired.set(m.name, buildDesired(m, peers, this.meta.epoch, version, this.net.bits));
    }
    for (const name of [...this.desired.keys()]) if (!nodes.has(name)) this.desired.delete(name);
    setImmediate(() => this.pushTick());
  }

  /** Admissions come in bursts (a fleet starting up): one rebuild, and one push per node, for all of them. */
  private scheduleRebuild(): void {
    if (this.rebuildPending) return;
    this.rebuildPending = true;
    setTimeout(() => {
      void this.queue.run(async () => {
        this.rebuildPending = false;
        if (this.life.state === 'RUNNING') await this.rebuild();
      });
    }, 20);
  }

  private usedAddresses(): string[] {
    return [...this.members.values()].map((m) => m.address);
  }

  private keyOwner(publicKey: string): MeshMemberRecord | undefined {
    for (const m of this.members.values()) if (m.publicKey === publicKey || m.rotation?.to === publicKey) return m;
    return undefined;
  }

  private isRevoked(publicKey: string): boolean {
    return this.meta.revoked.some((r) => r.publicKey === publicKey);
  }

  private readyNodes(except?: string): string[] {
    return [...this.members.values()].filter((m) => m.kind === 'node' && m.name !== except && this.opts.nodeState(m.name) === 'ready').map((m) => m.name);
  }

  // ---- heartbeats ----

  private onHeartbeat(subject: string, data: Uint8Array): void {
    if (this.life.state !== 'RUNNING') return;
    // Most heartbeats carry no mesh status (agents without --mesh-if): they are let go before
    // parsing. The core parses every heartbeat already; a second full parse here was an eighth
    // of the coordinator's CPU at 10,000 nodes. A heartbeat that names "mesh" anywhere is parsed.
    if (Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(MESH_KEY) < 0) return;
    // The same schema the coordinator core applies: a heartbeat it refuses registers nothing here either.
    const hb = decode(heartbeatSchema, data);
    if (!hb.ok || hb.value.mesh === undefined || subject !== Subjects.heartbeat(hb.value.node)) return;
    const node = hb.value.node;
    const st = parseWith(meshStatusSchema, hb.value.mesh);
    if (!st.ok) {
      this.warnOnce(node, 'invalid mesh status in heartbeat ignored', { errors: st.errors.slice(0, 5) });
      return;
    }
    const status = st.value;
    const now = Date.now();
    const prev = this.reported.get(node);
    this.reported.set(node, {
      status,
      receivedAt: now,
      peers: status.peers ?? prev?.peers,
      peersAt: status.peers ? now : (prev?.peersAt ?? now),
    });
    void this.queue.run(() => this.observe(node, status));
  }

  private warnOnce(node: string, msg: string, meta: Record<string, unknown>): void {
    const key = `${msg}:${JSON.stringify(meta)}`;
    if (this.warned.get(node) === key) return;
    this.warned.set(node, key);
    this.opts.log.warn(msg, { node, ...meta });
  }

  /** What a node reports about itself: first contact, a new key or endpoint, an applied version. */
  private async observe(node: string, st: MeshStatus): Promise<void> {
    if (this.life.state !== 'RUNNING') return;
    if (this.isRevoked(st.publicKey)) {
      this.warnOnce(node, 'node with a revoked mesh key not admitted (make a new key on it to rejoin)', { publicKey: st.publicKey });
      return;
    }
    let m = this.nodeMember(node);
    const owner = this.keyOwner(st.publicKey);
    if (owner && owner !== m) {
      this.warnOnce(node, 'mesh key already used by another member; not admitted (a copied state directory?)', { owner: `${owner.kind} ${owner.name}` });
      return;
    }
    let changed = false;
    if (!m) {
      m = {
        name: node,
        kind: 'node',
        address: allocateAddress(this.net, this.usedAddresses()),
        publicKey: st.publicKey,
        endpoint: st.endpoint,
        rotation: null,
        createdAt: Date.now(),
        // Versions only grow within an epoch: a node removed and admitted again continues its count.
        desiredVersion: st.epoch === this.meta.epoch ? st.appliedVersion : 0,
        desiredHash: null,
      };
      this.members.set(memberKey('node', node), m);
      this.opts.log.info('mesh member added', { node, address: m.address, endpoint: m.endpoint });
      changed = true;
    } else if (m.rotation && st.publicKey === m.rotation.to) {
      this.opts.log.info('mesh key rotation complete', { node, publicKey: st.publicKey });
      m.publicKey = st.publicKey;
      m.rotation = null;
      changed = true;
    } else if (st.publicKey !== m.publicKey && st.publicKey !== m.rotation?.to) {
      // The agent is the authority on its own key (a wiped key dir, a rotation finished while we
      // were away): distribute what it actually uses.
      this.opts.log.warn('node reports another mesh key; distributing it', { node, publicKey: st.publicKey });
      m.publicKey = st.publicKey;
      m.rotation = null;
      changed = true;
    }
    if (st.endpoint !== m.endpoint) {
      if (!changed) this.opts.log.info('mesh endpoint changed', { node, endpoint: st.endpoint });
      m.endpoint = st.endpoint;
      changed = true;
    }
    if (changed) {
      await this.store.saveMember(m);
      this.scheduleRebuild();
    }
    // The heartbeat says what the interface has: a node that lost what it had acknowledged
    // (wiped state dir, another coordinator's epoch) gets its set again now, not after a backoff.
    const ps = this.pushState(node);
    const lost = ps.ackedEpoch === this.meta.epoch && (st.epoch !== this.meta.epoch || st.appliedVersion < ps.ackedVersion);
    ps.ackedEpoch = st.epoch;
    ps.ackedVersion = st.appliedVersion;
    if (lost && !ps.inFlight) {
      ps.backoff.reset();
      ps.sentVersion = 0;
    }
  }

  // ---- pushing ----

  private pushState(node: string): PushState {
    let ps = this.pushes.get(node);
    if (!ps) {
      ps = { inFlight: false, ackedEpoch: null, ackedVersion: 0, sentVersion: 0, lastSentAt: 0, backoff: new Backoff({ initialMs: FIRST_RETRY_MS, maxMs: MAX_BACKOFF_MS }), lastCommitAt: 0 };
      this.pushes.set(node, ps);
    }
    return ps;
  }

  private isAcked(node: string, version: number): boolean {
    const ps = this.pushes.get(node);
    return ps !== undefined && ps.ackedEpoch === this.meta.epoch && ps.ackedVersion >= version;
  }

  /** Sends every desired set that is newer than what its node acknowledged; retries with backoff. */
  private pushTick(): void {
    if (this.life.state !== 'RUNNING') return;
    const now = Date.now();
    for (const [node, d] of this.desired) {
      const ps = this.pushState(node);
      if (ps.inFlight || this.isAcked(node, d.version)) continue;
      if (ps.ackedEpoch === null && now - this.startedAt < START_QUIET_MS) continue;
      const fresh = d.version > ps.sentVersion;
      if (!fresh && now - ps.lastSentAt < ps.backoff.peek()) continue;
      void this.send(node, d, ps);
    }
    this.retryCommits(now);
  }

  private async send(node: string, d: MeshDesired, ps: PushState): Promise<void> {
    ps.inFlight = true;
    ps.lastSentAt = Date.now();
    ps.sentVersion = d.version;
    try {
      const r = await this.request(node, d);
      if (r.ok && r.epoch === d.epoch && (r.version ?? 0) >= d.version) {
        ps.ackedEpoch = d.epoch;
        ps.ackedVersion = Math.max(ps.ackedVersion, r.version ?? 0);
        ps.backoff.reset();
        this.opts.log.debug('mesh peers acknowledged', { node, version: r.version, liveHash: r.liveHash?.slice(0, 12), changes: r.changes });
      } else {
        ps.backoff.next();
        this.warnOnce(node, 'agent did not apply its mesh peers; retrying', { version: d.version, error: r.error ?? 'version not acknowledged' });
      }
    } catch (err) {
      ps.backoff.next();
      this.opts.log.debug('mesh push not delivered; retrying', { node, version: d.version, err });
    } finally {
      ps.inFlight = false;
    }
    if (!this.isAcked(node, this.desired.get(node)?.version ?? 0) && (this.desired.get(node)?.version ?? 0) > d.version) setImmediate(() => this.pushTick());
  }

  private async request(node: string, cmd: MeshCommand, timeout = this.opts.pushTimeoutMs): Promise<MeshCommandReply> {
    const msg = await this.opts.nc.request(Subjects.meshCommand(node), JSON.stringify(cmd), { timeout });
    const r = decode(meshCommandReplySchema, msg.data);
    if (!r.ok) return { ok: false, error: `malformed reply: ${r.errors.join('; ')}` };
    return r.value;
  }

  /** Waits until each node acknowledged the version it has now (or the time is up). */
  private async waitAcked(nodes: string[], timeoutMs = this.opts.ackWaitMs): Promise<{ acked: string[]; pending: string[] }> {
    const target = new Map(nodes.map((n) => [n, this.desired.get(n)?.version ?? 0]));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = nodes.filter((n) => !this.isAcked(n, target.get(n)!));
      if (pending.length === 0 || Date.now() >= deadline) return { acked: nodes.filter((n) => !pending.includes(n)), pending };
      await sleep(10);
    }
  }

  // ---- client API ----

  async removeNode(name: string): Promise<NodeRemoveMsg> {
    const t0 = Date.now();
    const r = await this.queue.run(async () => {
      const m = this.nodeMember(name);
      if (!m) return undefined;
      for (const key of [m.publicKey, m.rotation?.to]) {
        if (key && !this.isRevoked(key)) this.meta.revoked.push({ publicKey: key, name, at: Date.now() });
      }
      await this.store.saveMeta(this.meta);
      await this.store.deleteMember('node', name);
      this.members.delete(memberKey('node', name));
      this.reported.delete(name);
      this.pushes.delete(name);
      const last = this.desired.get(name);
      await this.rebuild();
      this.opts.log.info('mesh member removed; its key is revoked everywhere', { node: name, address: m.address });
      // Best effort: the removed node drops its peers too (its key is revoked either way).
      if (last) void this.request(name, { ...last, version: last.version + 1, peers: [], hash: meshPeersHash([]) }).catch(() => undefined);
      return { address: m.address, wait: this.readyNodes() };
    });
    if (!r) return { name, meshMember: false, releasedAddress: '', peersAcked: 0, peersPending: [], tookMs: Date.now() - t0 };
    const acks = await this.waitAcked(r.wait);
    return { name, meshMember: true, releasedAddress: r.address, peersAcked: acks.acked.length, peersPending: acks.pending, tookMs: Date.now() - t0 };
  }

  isMember(kind: MeshMemberKind, name: string): boolean {
    return this.members.has(memberKey(kind, name));
  }

  /**
   * Rotation without a gap longer than one handshake: the node stages a new key, every peer is
   * moved to it, then the node switches and immediately re-handshakes with all of them.
   */
  async rotateKey(name: string): Promise<MeshRotateMsg> {
    const t0 = Date.now();
    const m0 = this.nodeMember(name);
    if (!m0) throw new MeshrunError(ErrorCode.NotFound, `no mesh node ${name}`);
    if (this.opts.nodeState(name) !== 'ready') throw new MeshrunError(ErrorCode.Conflict, `node ${name} is ${this.opts.nodeState(name) ?? 'unknown'}: its agent must be reachable to make a new key`);
    const prep = await this.request(name, { type: 'rotate-prepare' }, 10_000).catch((err: Error) => ({ ok: false, error: err.message }) as MeshCommandReply);
    if (!prep.ok || !prep.publicKey) throw new MeshrunError(ErrorCode.ToolFailed, `node ${name} could not make a new key: ${prep.error ?? 'no key in reply'}`);
    const next = prep.publicKey;
    const wait = await this.queue.run(async () => {
      const m = this.nodeMember(name);
      if (!m) throw new MeshrunError(ErrorCode.NotFound, `node ${name} left the mesh during the rotation`);
      if (this.isRevoked(next) || (this.keyOwner(next) && this.keyOwner(next) !== m)) throw new MeshrunError(ErrorCode.Conflict, `node ${name} made a key that is already in use`);
      if (m.publicKey !== next) {
        m.rotation = { from: m.publicKey, to: next, startedAt: Date.now() };
        await this.store.saveMember(m);
        await this.rebuild();
        this.opts.log.info('mesh key rotation started', { node: name, from: m.publicKey, to: next });
      }
      return this.readyNodes(name);
    });
    const acks = await this.waitAcked(wait);
    let committed: MeshCommandReply = { ok: false, error: 'not sent' };
    for (let i = 0; i < 3 && !committed.ok; i++) {
      committed = await this.request(name, { type: 'rotate-commit', publicKey: next }, 5000).catch((err: Error) => ({ ok: false, error: err.message }));
    }
    if (!committed.ok) throw new MeshrunError(ErrorCode.ToolFailed, `node ${name} did not switch to its new key (${committed.error}); peers already know it, so the node will use it at its next start`);
    await this.queue.run(async () => {
      const m = this.nodeMember(name);
      if (m && m.rotation?.to === next) {
        m.publicKey = next;
        m.rotation = null;
        await this.store.saveMember(m);
        await this.rebuild();
        this.opts.log.info('mesh key rotation complete', { node: name, publicKey: next });
      }
    });
    return { node: name, previousPublicKey: prep.previousPublicKey ?? m0.publicKey, publicKey: next, peersAcked: acks.acked.length, peersPending: acks.pending, tookMs: Date.now() - t0 };
  }

  /** A rotation whose commit got lost: once the peers have the new key, ask the node again. */
  private retryCommits(now: number): void {
    for (const m of this.members.values()) {
      if (m.kind !== 'node' || !m.rotation || now - m.rotation.startedAt < 15_000) continue;
      const ps = this.pushState(m.name);
      if (now - ps.lastCommitAt < 5000 || this.opts.nodeState(m.name) !== 'ready') continue;
      ps.lastCommitAt = now;
      void this.request(m.name, { type: 'rotate-commit', publicKey: m.rotation.to }).catch(() => undefined);
    }
  }

  async join(client: string, publicKey: string, endpoint: string | null): Promise<MeshJoinMsg> {
    const r = await this.queue.run(async () => {
      if (this.isRevoked(publicKey)) throw new InvalidInputError('this key was revoked by `meshrun node remove`; make a new one (delete the client key file) and join again');
      let m = this.members.get(memberKey('client', client));
      const owner = this.keyOwner(publicKey);
      if (owner && owner !== m) throw new MeshrunError(ErrorCode.Conflict, `this key is already used by ${owner.kind} ${owner.name}`);
      if (!m) {
        m = { name: client, kind: 'client', address: allocateAddress(this.net, this.usedAddresses()), publicKey, endpoint, rotation: null, createdAt: Date.now(), desiredVersion: 0, desiredHash: null };
        this.members.set(memberKey('client', client), m);
        this.opts.log.info('mesh client joined', { client, address: m.address });
      } else {
        if (m.publicKey !== publicKey) this.opts.log.info('mesh client joined again with a new key', { client });
        m.publicKey = publicKey;
        m.endpoint = endpoint;
      }
      await this.store.saveMember(m);
      await this.rebuild();
      return { m, peers: buildPeers(m, this.members.values(), { keepaliveS: this.opts.keepaliveS }), wait: this.readyNodes() };
    });
    const acks = await this.waitAcked(r.wait);
    return {
      client,
      address: r.m.address,
      prefixLength: this.net.bits,
      cidr: formatNet(this.net),
      peers: r.peers.map((p) => ({ name: p.name, kind: p.kind, publicKey: p.publicKey, endpoint: p.endpoint ?? '', allowedIps: p.allowedIps, persistentKeepalive: p.persistentKeepalive })),
      nodesAcked: acks.acked.length,
      nodesPending: acks.pending,
    };
  }

  async leave(client: string): Promise<MeshLeaveMsg> {
    const r = await this.queue.run(async () => {
      const m = this.members.get(memberKey('client', client));
      if (!m) throw new MeshrunError(ErrorCode.NotFound, `no mesh client ${client}`);
      await this.store.deleteMember('client', client);
      this.members.delete(memberKey('client', client));
      await this.rebuild();
      this.opts.log.info('mesh client left', { client, address: m.address });
      return { address: m.address, wait: this.readyNodes() };
    });
    const acks = await this.waitAcked(r.wait);
    return { client, releasedAddress: r.address, nodesAcked: acks.acked.length, nodesPending: acks.pending };
  }

  status(now = Date.now()): MeshStatusMsg {
    const byKey = keyIndex(this.members.values());
    const members = [...this.members.values()]
      .sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind === 'node' ? -1 : 1))
      .map((m) => {
        const d = m.kind === 'node' ? this.desired.get(m.name) : undefined;
        return memberMsg(
          { member: m, state: this.opts.nodeState(m.name) ?? 'unknown', desiredVersion: d?.version ?? 0, desiredHash: d?.hash ?? '', reported: m.kind === 'node' ? this.reported.get(m.name) : undefined },
          this.meta.epoch,
          this.opts.keepaliveS,
          byKey,
          now,
        );
      });
    return { cidr: formatNet(this.net), epoch: this.meta.epoch, keepaliveS: this.opts.keepaliveS, members, revokedKeys: this.meta.revoked.length };
  }
}
