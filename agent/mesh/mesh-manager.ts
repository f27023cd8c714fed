// The agent's WireGuard interface: key made here (never sent anywhere), the last desired peer set
// kept on disk and re-applied at start without the coordinator, changes applied as a minimal diff,
// and the applied version, live hash and per-peer figures reported back in heartbeats.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  meshCommandSchema,
  meshDesiredSchema,
  type MeshCommandReply,
  type MeshDesired,
  type MeshPeerStats,
  type MeshStatus,
} from '../../proto/mesh.js';
import { decode } from '../../proto/decode.js';
import { meshPeersHash, toDesiredPeers } from '../../proto/mesh-hash.js';
import { Subjects } from '../../proto/subjects.js';
import { Lifecycle, SerialQueue } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { writeFileAtomic } from '../../lib/write-file-atomic.js';
import { dropOldKeyPair, ensureKeyPair, rotateKeyPair, type KeyPair } from '../wg/keys.js';
import { liveStateHash, reconcilePeers, type ApplyCounts } from '../wg/peer-diff.js';
import { wgTool, type WgDump, type WgTool } from '../wg/wg-tool.js';

export { DEFAULT_MESH_PORT } from '../../proto/config.js';

export interface MeshManagerOptions {
  node: string;
  /** Interface name, unique on the machine (wireguard-go's control socket is machine-wide). */
  ifname: string;
  /** Where peers reach this node, literal `ip:port`; unset: peers wait for this node to reach them. */
  endpoint?: string;
  /** @default 51820 */
  listenPort: number;
  /** The agent's state dir: the mesh keeps `mesh/wg.key` (0600) and `mesh/desired.json` below it. */
  stateDir: string;
  log: Logger;
  /** @default wgTool */
  tool?: WgTool;
  /** How often the interface is read for per-peer figures and checked against the desired set. @default 2000 */
  statsEveryMs?: number;
}

export type MeshManagerState = 'NEW' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED';

interface Applied {
  epoch: string;
  version: number;
  hash: string;
}

export class MeshManager {
  private readonly life: Lifecycle<MeshManagerState>;
  private readonly queue: SerialQueue;
  private readonly dir: string;
  private readonly tool: WgTool;
  private keys: KeyPair | undefined;
  /** The last desired set received (persisted before it is applied). */
  private desired: MeshDesired | undefined;
  private applied: Applied | undefined;
  private lastChanges: ApplyCounts = { added: 0, updated: 0, removed: 0 };
  private up = false;
  /** The address this manager put on the interface. */
  private address: string | undefined;
  private ifaceKey: string | undefined;
  private staged: string | undefined;
  private liveHash: string | null = null;
  private error: string | null = null;
  private stats: MeshPeerStats[] = [];
  private statsSeq = 0;
  private reportedSeq = 0;
  private readonly rx = new Map<string, { rx: number; changedAt: number }>();
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: MeshManagerOptions) {
    this.dir = join(opts.stateDir, 'mesh');
    this.tool = opts.tool ?? wgTool;
    this.life = new Lifecycle('mesh', 'NEW', opts.log.child({ ifname: opts.ifname }));
    // Every step catches its own failure (and reports it via fail()); this message is for the unforeseen.
    this.queue = new SerialQueue(opts.log, 'mesh step failed');
  }

  /** Brings the interface up from what is on disk; never throws (failures are retried and reported). */
  async start(): Promise<void> {
    if (this.life.state !== 'NEW') return;
    this.life.set('STARTING');
    this.desired = this.loadDesired();
    await this.queue.run(() => this.bringUp());
    this.timer = setInterval(() => void this.queue.run(() => this.refresh()), this.opts.statsEveryMs ?? 2000);
    this.life.set('RUNNING');
  }

  /** Takes pushes from the coordinator on this node's mesh subject. */
  attach(nc: NatsConnection): void {
    this.sub = nc.subscribe(Subjects.meshCommand(this.opts.node), {
      callback: (err, msg) => {
        if (!err) void this.onCommand(msg);
      },
    });
  }

  /** Idempotent. The interface stays up: tunnels outlive the agent, as runs do. */
  close(): Promise<void> {
    return this.life.closeOnce(async () => {
      this.life.set('STOPPING');
      if (this.timer) clearInterval(this.timer);
      this.sub?.unsubscribe();
      await this.queue.idle();
      this.life.set('STOPPED');
    });
  }

  /** The heartbeat's `mesh` field; per-peer figures only when a new sample was taken since the last call. */
  heartbeatStatus(): MeshStatus | undefined {
    if (!this.keys) return undefined;
    const withPeers = this.statsSeq !== this.reportedSeq;
    this.reportedSeq = this.statsSeq;
    return {
      ifname: this.opts.ifname,
      publicKey: this.ifaceKey ?? this.keys.publicKey,
      stagedPublicKey: this.staged ?? null,
      endpoint: this.opts.endpoint ?? null,
      listenPort: this.opts.listenPort,
      address: this.desired?.address ?? null,
      epoch: this.applied?.epoch ?? null,
      appliedVersion: this.applied?.version ?? 0,
      desiredHash: this.applied?.hash ?? null,
      liveHash: this.liveHash,
      error: this.error,
      ...(withPeers ? { peers: this.stats } : {}),
    };
  }

  private fail(what: string, err: unknown): void {
    const message = `${what}: ${(err as Error)?.message ?? String(err)}`;
    if (message !== this.error) this.opts.log.error('mesh step failed', { what, err });
    this.error = message;
  }

  // ---- the interface ----

  private async bringUp(): Promise<void> {
    const o = this.opts;
    try {
      this.keys = await ensureKeyPair(this.dir, this.tool);
      const { backend, created } = await this.tool.createInterface(o.ifname);
      let dump = await this.tool.showDump(o.ifname);
      // A rotation staged before a restart: the key file already holds the next key, so the
      // interface starts with it (the coordinator learns it from the heartbeat and moves peers).
      const keyChanged = dump.interface.publicKey !== this.keys.publicKey;
      if (keyChanged || dump.interface.listenPort !== o.listenPort) {
        await this.tool.setPrivateKey(o.ifname, this.keys.privateKeyPath, { listenPort: o.listenPort });
      }
      if (this.desired) await this.tool.setAddress(o.ifname, this.desired.address);
      this.address = this.desired?.address;
      await this.tool.linkUp(o.ifname);
      this.up = true;
      this.ifaceKey = this.keys.publicKey;
      this.staged = undefined;
      await dropOldKeyPair(this.dir);
      o.log.info('mesh interface up', { ifname: o.ifname, backend, created, publicKey: this.keys.publicKey, address: this.desired?.address ?? null, listenPort: o.listenPort });
      if (this.desired) {
        dump = await this.applyPeers(this.desired, 'start');
        if (keyChanged && !created) await this.kick(dump);
      }
      this.error = null;
      this.sample(await this.tool.showDump(o.ifname));
    } catch (err) {
      this.up = false;
      this.fail('bringing the mesh interface up', err);
    }
  }

  /** Applies the difference between `d` and the interface, then hashes what the interface has. */
  private async applyPeers(d: MeshDesired, why: string): Promise<WgDump> {
    const t0 = performance.now();
    const peers = toDesiredPeers(d.peers);
    const r = await reconcilePeers(this.tool, this.opts.ifname, peers);
    const dump = await this.tool.showDump(this.opts.ifname);
    this.liveHash = liveStateHash(dump, peers);
    this.applied = { epoch: d.epoch, version: d.version, hash: r.desiredHash };
    this.ifaceKey = dump.interface.publicKey ?? this.ifaceKey;
    this.lastChanges = r.counts;
    const touched = r.counts.added + r.counts.updated + r.counts.removed;
    const meta = { why, version: d.version, peers: d.peers.length, ...r.counts, ms: Math.round(performance.now() - t0), inSync: this.liveHash === r.desiredHash };
    if (touched > 0) this.opts.log.info('mesh peers applied', meta);
    else this.opts.log.debug('mesh peers already in place', meta);
    return dump;
  }

  /** Every few seconds: figures for the heartbeat, and a repair when the interface drifted. */
  private async refresh(): Promise<void> {
    if (this.life.state !== 'RUNNING') return;
    if (!this.up) return this.bringUp();
    let dump: WgDump;
    try {
      dump = await this.tool.showDump(this.opts.ifname);
    } catch (err) {
      const exists = await this.tool.interfaceExists(this.opts.ifname).catch(() => true);
      if (!exists) {
        this.opts.log.warn('mesh interface vanished; making it again', { ifname: this.opts.ifname });
        this.up = false;
        return this.bringUp();
      }
      return this.fail('reading the mesh interface', err);
    }
    this.ifaceKey = dump.interface.publicKey ?? this.ifaceKey;
    if (this.desired) {
      const peers = toDesiredPeers(this.desired.peers);
      this.liveHash = liveStateHash(dump, peers);
      if (this.liveHash !== meshPeersHash(this.desired.peers) || this.applied?.version !== this.desired.version) {
        this.opts.log.warn('mesh interface differs from the desired peers; reconciling', { version: this.desired.version });
        try {
          dump = await this.applyPeers(this.desired, 'repair');
          this.error = null;
        } catch (err) {
          return this.fail('repairing the mesh peers', err);
        }
      }
    }
    this.sample(dump);
  }

  private sample(dump: WgDump): void {
    const now = Date.now();
    const live = new Set<string>();
    this.stats = dump.peers.map((p) => {
      live.add(p.publicKey);
      const prev = this.rx.get(p.publicKey);
      if (!prev || prev.rx !== p.rxBytes) this.rx.set(p.publicKey, { rx: p.rxBytes, changedAt: now });
      const changedAt = this.rx.get(p.publicKey)!.changedAt;
      return {
        publicKey: p.publicKey,
        handshakeAgeS: p.latestHandshake > 0 ? Math.max(0, Math.floor(now / 1000 - p.latestHandshake)) : -1,
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
        silentS: Math.floor((now - changedAt) / 1000),
        ...(p.endpoint === undefined ? {} : { endpoint: p.endpoint }),
      };
    });
    for (const k of [...this.rx.keys()]) if (!live.has(k)) this.rx.delete(k);
    this.statsSeq++;
  }

  /**
   * After a key change every session is void: turning persistent keepalive off and on makes
   * WireGuard send at once, so each peer re-handshakes now instead of at its next retry (5 s).
   */
  private async kick(dump: WgDump): Promise<void> {
    const want = new Map((this.desired?.peers ?? []).map((p) => [p.publicKey, p.persistentKeepalive]));
    const keys = dump.peers.map((p) => p.publicKey);
    if (keys.length === 0) return;
    const set = (ka: (k: string) => number) => keys.map((publicKey) => ({ publicKey, persistentKeepalive: ka(publicKey) }));
    await this.tool.setPeers(this.opts.ifname, { set: set(() => 0) });
    await this.tool.setPeers(this.opts.ifname, { set: set((k) => Math.max(1, want.get(k) ?? 0)) });
    const off = keys.filter((k) => (want.get(k) ?? 0) === 0);
    if (off.length > 0) await this.tool.setPeers(this.opts.ifname, { set: off.map((publicKey) => ({ publicKey, persistentKeepalive: 0 })) });
  }

  // ---- commands from the coordinator ----

  private async onCommand(msg: Msg): Promise<void> {
    let reply: MeshCommandReply;
    const parsed = decode(meshCommandSchema, msg.data);
    if (!parsed.ok) {
      reply = { ok: false, error: `invalid mesh command: ${parsed.errors.slice(0, 5).join('; ')}` };
      this.opts.log.warn('invalid mesh command ignored', { error: reply.error });
    } else if (this.life.state === 'STOPPING' || this.life.state === 'STOPPED') {
      reply = { ok: false, error: 'agent is stopping' };
    } else {
      const cmd = parsed.value;
      reply = await this.queue.run(async () => {
        try {
          if (cmd.type === 'desired') return await this.onDesired(cmd);
          if (cmd.type === 'rotate-prepare') return await this.prepareRotation();
          return await this.commitRotation(cmd.publicKey);
        } catch (err) {
          this.fail(`mesh command ${cmd.type}`, err);
          return { ok: false, error: this.error ?? String(err) };
        }
      });
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  private ack(): MeshCommandReply {
    return { ok: true, epoch: this.applied?.epoch ?? '', version: this.applied?.version ?? 0, ...(this.liveHash ? { liveHash: this.liveHash } : {}) };
  }

  private async onDesired(d: MeshDesired): Promise<MeshCommandReply> {
    if (d.node !== this.opts.node) return { ok: false, error: `desired set for ${d.node} sent to ${this.opts.node}` };
    const cur = this.desired;
    // A late retry of an older version changes nothing; the current state is the answer.
    if (cur && cur.epoch === d.epoch && d.version < cur.version) return { ...this.ack(), changes: { added: 0, updated: 0, removed: 0 } };
    if (meshPeersHash(d.peers) !== d.hash) this.opts.log.warn('coordinator computes another peer hash (version skew?)', { version: d.version });
    this.saveDesired(d);
    this.desired = d;
    if (this.up && this.address !== undefined && this.address !== d.address) {
      // Addresses are stable per node; a new one means the node was removed and admitted again.
      this.opts.log.warn('mesh address changed; making the interface again', { from: this.address, to: d.address });
      await this.tool.deleteInterface(this.opts.ifname);
      this.up = false;
    }
    if (!this.up) await this.bringUp();
    else {
      if (this.address === undefined) {
        await this.tool.setAddress(this.opts.ifname, d.address);
        this.address = d.address;
        this.opts.log.info('mesh address set', { address: d.address });
      }
      await this.applyPeers(d, 'push');
    }
    if (this.applied?.epoch !== d.epoch || this.applied.version !== d.version) return { ok: false, error: this.error ?? 'not applied' };
    this.error = null;
    return { ...this.ack(), changes: this.lastChanges };
  }

  private async prepareRotation(): Promise<MeshCommandReply> {
    const current = this.ifaceKey ?? (await ensureKeyPair(this.dir, this.tool)).publicKey;
    const onDisk = await ensureKeyPair(this.dir, this.tool);
    if (onDisk.publicKey !== current) {
      // Already staged by an earlier prepare whose reply got lost: the same key again.
      this.staged = onDisk.publicKey;
      return { ok: true, publicKey: onDisk.publicKey, previousPublicKey: current };
    }
    const next = await rotateKeyPair(this.dir, this.tool);
    this.staged = next.publicKey;
    this.opts.log.info('new mesh key staged', { publicKey: next.publicKey, previous: current });
    return { ok: true, publicKey: next.publicKey, previousPublicKey: current };
  }

  private async commitRotation(publicKey: string): Promise<MeshCommandReply> {
    if (this.ifaceKey === publicKey) return { ok: true, publicKey };
    const onDisk = await ensureKeyPair(this.dir, this.tool);
    if (onDisk.publicKey !== publicKey) return { ok: false, error: 'the staged key is not the one the coordinator distributed' };
    const t0 = performance.now();
    await this.tool.setPrivateKey(this.opts.ifname, onDisk.privateKeyPath);
    const dump = await this.tool.showDump(this.opts.ifname);
    await this.kick(dump);
    await dropOldKeyPair(this.dir);
    const previous = this.ifaceKey;
    this.keys = onDisk;
    this.ifaceKey = publicKey;
    this.staged = undefined;
    this.opts.log.info('mesh key rotated', { publicKey, previous, ms: Math.round(performance.now() - t0) });
    return { ok: true, publicKey, ...(previous ? { previousPublicKey: previous } : {}) };
  }

  // ---- persistence ----

  private loadDesired(): MeshDesired | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'desired.json'), 'utf8');
    } catch {
      return undefined;
    }
    const r = decode(meshDesiredSchema, text);
    if (r.ok) return r.value;
    this.opts.log.error('saved mesh peers are damaged; waiting for the coordinator', { errors: r.errors.slice(0, 5) });
    return undefined;
  }

  private saveDesired(d: MeshDesired): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(join(this.dir, 'desired.json'), JSON.stringify(d) + '\n');
  }
}
