// The agent daemon: registers and heartbeats over NATS, takes start/stop commands
// addressed to this node alone, supervises runs through their runner files, relays
// events through the outbox, and fences its runs when its lease runs out.
import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { agentCommandSchema, type CommandReply, type HandoffCommand, type Heartbeat, type PruneCommand, type RunEvent, type StartCommand } from '../proto/bus.js';
import type { NatsAuth } from '../proto/config.js';
import { decode } from '../proto/decode.js';
import { nodeInboxPrefix } from '../proto/permissions.js';
import { tokenKey, type Labels } from '../proto/names.js';
import { Subjects } from '../proto/subjects.js';
import { Lifecycle } from '../lib/lifecycle.js';
import type { Logger } from '../lib/log.js';
import { watchLoopLag } from '../lib/loop-lag.js';
import { connectNats } from '../lib/nats.js';
import { VERSION } from '../lib/version.js';
import { pruneFiles } from '../lib/workspace/index.js';
import { BlobClient } from './blob-client.js';
import { SecretClient } from './secret-client.js';
import { writeHandoffMarker } from './handoff.js';
import { loadOrCreateInstance } from './identity.js';
import { probeBus } from './bus-probe.js';
import { Lease } from './lease.js';
import { MeshManager, type MeshManagerOptions } from './mesh/mesh-manager.js';
import { Outbox } from './outbox.js';
import { OutboxRelay } from './outbox-relay.js';
import { readFailures, readOutputs, storeArtifacts } from './run-extras.js';
import { RunCgroups } from './run-cgroups.js';
import { RunDirs } from './run-dirs.js';
import { RunPreparation } from './run-preparation.js';
import { RunSupervisor } from './run-supervisor.js';
import { ensurePrivateDir, jobWorkDir, runPaths } from './runner/run-files.js';
import { detectCapacity, nodeCapacity, thisMachine, type MachineSource, type NodeCapacity } from './capacity.js';
import { formatResources, sameResources, type Resources } from '../proto/resources.js';

export interface AgentOptions {
  nats: string;
  natsAuth?: NatsAuth;
  node: string;
  labels: Labels;
  stateDir: string;
  slots: number;
  standby: boolean;
  heartbeatMs: number;
  /** Runs with failover `reassign` are stopped when no heartbeat was acknowledged for this long. */
  leaseMs: number;
  /** SIGTERM -> SIGKILL grace for cancel, timeout and fencing. */
  killGraceMs: number;
  outboxMaxBytes: number;
  /** A job's run directory untouched this long is removed (the backstop for a missed `forget`). */
  retainRunsForMs: number;
  log: Logger;
  /** The node's WireGuard interface (--mesh-if); no mesh when unset. */
  mesh?: Omit<MeshManagerOptions, 'node' | 'stateDir' | 'log'>;
  /** Held back from what stages may request (--reserve): millicpu and bytes. */
  reserve: Resources;
  /** The config's `capacity`: replaces the detected cpu and/or memory. */
  capacity?: Partial<Resources>;
  /** Where the machine's cpu and memory are read. @default the machine the agent runs on */
  machine?: MachineSource;
}

/** How often the node looks for run directories past retention. */
const RUN_DIRS_SWEEP_MS = 60_000;
/** While the bus is away: how often the agent dials the servers to tell "bus down" from "cut off". */
const BUS_PROBE_MS = 100;
/** How often the machine's cpu and memory are read again (a container's limits can change). */
const CAPACITY_REFRESH_MS = 30_000;
/** An unanswered heartbeat: the server gets this long to answer a ping before the agent moves to another. */
const SERVER_PING_MS = 750;
/** At most one such move in this long (a cluster electing is slow for a few seconds, not dead). */
const SERVER_SWITCH_EVERY_MS = 5000;

export type AgentState = 'NEW' | 'RUNNING' | 'STOPPING' | 'STOPPED';

export class Agent {
  private readonly lifecycle: Lifecycle<AgentState>;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly instance: string;
  private readonly outbox: Outbox;
  private readonly relay: OutboxRelay;
  private readonly supervisor: RunSupervisor;
  private readonly lease: Lease;
  private readonly preparation: RunPreparation;
  private readonly blobs: BlobClient;
  private readonly mesh: MeshManager | undefined;
  private readonly runDirs: RunDirs;
  /** The bus connection is down (reconnecting), or not made yet. */
  private busAway = true;
  private probing = false;
  /** The last probe's outcomes, so a long outage logs each change once. */
  private probeSeen = '';
  private stopLagWatch: (() => void) | undefined;
  private capacity: NodeCapacity;

  constructor(private readonly opts: AgentOptions) {
    const { node, stateDir, log } = opts;
    this.lifecycle = new Lifecycle<AgentState>('agent', 'NEW', log);
    ensurePrivateDir(stateDir);
    this.instance = loadOrCreateInstance(stateDir);
    this.mesh = opts.mesh ? new MeshManager({ ...opts.mesh, node, stateDir, log: log.child({ part: 'mesh' }) }) : undefined;
    this.outbox = new Outbox({ dir: join(stateDir, 'outbox'), instance: this.instance, maxBytes: opts.outboxMaxBytes, log });
    this.relay = new OutboxRelay({ node, instance: this.instance, outbox: this.outbox, log, running: () => this.running() });
    this.blobs = new BlobClient({ node, nc: () => this.nc });
    const cgroups = new RunCgroups({ instance: this.instance, log });
    // read once: every access to process.env crosses into C++, and a run start copied all of it
    const baseEnv = Object.freeze({ ...(process.env as Record<string, string>), MESHRUN_NODE: node });
    this.supervisor = new RunSupervisor({
      node,
      stateDir,
      killGraceMs: opts.killGraceMs,
      log,
      emit: (e) => this.emit(e),
      publishChunk: (c, t, o, d) => this.relay.publishChunk(c, t, o, d),
      collectExtras: async (t, paths, artifacts, playbook) => ({
        outputs: readOutputs(paths, log),
        failures: playbook ? readFailures(paths) : [],
        artifacts: await storeArtifacts(this.blobs, t, paths, artifacts, log),
      }),
      baseEnv: () => baseEnv,
      runCgroup: (t) => cgroups.create(t),
    });
    this.lease = new Lease({ node, leaseMs: opts.leaseMs, heartbeatMs: opts.heartbeatMs, log, runs: this.supervisor, onUnanswered: () => void this.pingServer() });
    this.runDirs = new RunDirs({
      runsDir: join(stateDir, 'runs'),
      retainForMs: opts.retainRunsForMs,
      log,
      busy: (job) => this.supervisor.holdsJob(job) || this.preparation.holdsJob(job),
    });
    this.preparation = new RunPreparation({ node, stateDir, log, leaseLive: () => this.lease.live(), blobs: this.blobs, secrets: new SecretClient(node, () => this.nc), supervisor: this.supervisor, emit: (e) => this.emit(e) });
    this.capacity = this.measureCapacity();
    const { capacity, allocatable } = this.capacity;
    log.info('node capacity', { capacity: formatResources(capacity), allocatable: formatResources(allocatable), reserve: formatResources(opts.reserve) });
    if (opts.reserve.cpu > capacity.cpu || opts.reserve.memory > capacity.memory) {
      log.warn('--reserve holds back more than the machine has: no stage with that request can be placed here', { capacity: formatResources(capacity), reserve: formatResources(opts.reserve) });
    }
  }

  private measureCapacity(): NodeCapacity {
    return nodeCapacity(detectCapacity(this.opts.machine ?? thisMachine), this.opts.capacity ?? {}, this.opts.reserve);
  }

  /** Reads the machine again; a change goes out with the next heartbeat (the coordinator keeps runs that no longer fit, and places nothing more). */
  private refreshCapacity(): void {
    const next = this.measureCapacity();
    if (sameResources(next.capacity, this.capacity.capacity) && sameResources(next.allocatable, this.capacity.allocatable)) return;
    this.opts.log.info('node capacity changed', { capacity: formatResources(next.capacity), allocatable: formatResources(next.allocatable), was: formatResources(this.capacity.allocatable) });
    this.capacity = next;
  }

  get state(): AgentState {
    return this.lifecycle.state;
  }

  private running(): boolean {
    return this.lifecycle.state === 'RUNNING';
  }

  async start(): Promise<void> {
    if (this.lifecycle.state !== 'NEW') return;
    const adopted = this.supervisor.adoptAll();
    if (adopted > 0) this.opts.log.info('re-adopted runs from runner files', { adopted });
    // Supervise runs before the bus is reachable: they must be watched even when it is not.
    this.timers.push(setInterval(() => this.tick(), 100));
    this.timers.push(setInterval(() => void this.probeBus(), BUS_PROBE_MS));
    this.stopLagWatch = watchLoopLag(this.opts.log, Math.max(250, this.opts.leaseMs / 3));
    this.timers.push(setInterval(() => this.runDirs.sweep(), Math.max(1000, Math.min(RUN_DIRS_SWEEP_MS, this.opts.retainRunsForMs / 2))));
    this.timers.push(setInterval(() => this.refreshCapacity(), CAPACITY_REFRESH_MS));
    this.lifecycle.set('RUNNING');
    // Tunnels first, from the peers saved on disk: the bus may be reachable only through them.
    await this.mesh?.start();
    this.nc = await connectNats({ servers: this.opts.nats, name: `meshrun-agent-${this.opts.node}`, log: this.opts.log, ...this.opts.natsAuth, inboxPrefix: nodeInboxPrefix(this.opts.node) });
    if (!this.running()) return;
    this.busAway = false;
    void this.watchConnection(this.nc);
    this.relay.attach(this.nc);
    this.mesh?.attach(this.nc);
    this.sub = this.nc.subscribe(Subjects.agentCommand(this.opts.node), {
      callback: (err, msg) => {
        if (!err) this.onCommand(msg);
      },
    });
    this.timers.push(setInterval(() => this.heartbeat(), this.opts.heartbeatMs));
    this.heartbeat();
    this.relay.start();
    this.opts.log.info('agent registered on the bus', { instance: this.instance });
  }

  /** Idempotent; running processes are left alone (they outlive the agent by design). */
  close(): Promise<void> {
    return this.lifecycle.closeOnce(async () => {
      this.lifecycle.set('STOPPING');
      for (const t of this.timers) clearInterval(t);
      this.stopLagWatch?.();
      this.supervisor.close();
      await this.mesh?.close();
      this.relay.wake();
      try {
        this.sub?.unsubscribe();
        await this.nc?.drain();
      } catch (err) {
        this.opts.log.warn('nats drain failed', { err });
      }
      this.outbox.close();
      this.lifecycle.set('STOPPED');
    });
  }

  /** Tracks the bus connection: heartbeats pause while it is down, and starts wait for a renewed lease after it. */
  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.busAway = true;
      if (s.type === 'reconnect') {
        this.busAway = false;
        this.lease.reconnected();
        this.heartbeat();
      }
    }
  }

  private pinging = false;
  private lastServerSwitch = 0;

  /**
   * A heartbeat went unanswered. If this agent's nats-server does not answer a ping either
   * (its machine cut off or gone), move to another server of the cluster now: the client's own
   * ping check would notice only after 4-6 s, past --lease, and the runs would be fenced. A
   * server that answers is kept - then it is the coordinator that is silent (a leader changing).
   */
  private async pingServer(): Promise<void> {
    const nc = this.nc;
    if (!nc || this.pinging || this.busAway || !this.opts.nats.includes(',') || Date.now() - this.lastServerSwitch < SERVER_SWITCH_EVERY_MS) return;
    this.pinging = true;
    try {
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([nc.rtt().then(() => true, () => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), SERVER_PING_MS)))]);
      clearTimeout(timer);
      if (answered || nc.isClosed() || this.busAway) return;
      this.lastServerSwitch = Date.now();
      this.opts.log.warn('nats-server does not answer pings; moving to another server', { server: nc.getServer(), waitedMs: SERVER_PING_MS });
      await nc.reconnect().catch(() => undefined);
    } finally {
      this.pinging = false;
    }
  }

  /** While the connection is away: every server refusing means the bus is down, and runs are held. */
  private async probeBus(): Promise<void> {
    if (!this.busAway || this.probing || !this.running()) return;
    this.probing = true;
    try {
      const at = Date.now();
      const { down, outcomes } = await probeBus(this.opts.nats, 250);
      const seen = outcomes.join(',');
      if (seen !== this.probeSeen) this.opts.log.debug('bus probed', { outcomes, ms: Date.now() - at });
      this.probeSeen = seen;
      if (down && this.busAway) this.lease.busRefused(at);
    } finally {
      this.probing = false;
    }
  }

  private tick(): void {
    this.supervisor.tick();
    this.lease.check();
  }

  private emit(event: RunEvent): void {
    this.outbox.append(event);
    this.relay.wake();
  }

  private heartbeat(): void {
    const nc = this.nc;
    // none while the connection is down: the client would send it, stale, on reconnect
    if (!nc || !this.running() || this.busAway) return;
    void this.lease.heartbeat(nc, (): Heartbeat => ({
      node: this.opts.node,
      instance: this.instance,
      labels: this.opts.labels,
      slots: this.opts.slots,
      standby: this.opts.standby,
      version: VERSION,
      runs: [...this.supervisor.reports(), ...this.preparation.reports()],
      sentAt: Date.now(),
      leaseLive: this.lease.live(),
      runRoot: join(this.opts.stateDir, 'runs'),
      mesh: this.mesh?.heartbeatStatus(),
      leaseMs: this.opts.leaseMs,
      killGraceMs: this.opts.killGraceMs,
      capacity: this.capacity.capacity,
      allocatable: this.capacity.allocatable,
      outbox: this.outbox.status(),
    }));
  }

  private onCommand(msg: Msg): void {
    let reply: CommandReply;
    try {
      const parsed = decode(agentCommandSchema, msg.data);
      if (!parsed.ok) {
        reply = { ok: false, error: `invalid command: ${parsed.errors.join('; ')}` };
        this.opts.log.warn('invalid command ignored', { subject: msg.subject, error: reply.error });
      } else if (parsed.value.type === 'start') {
        reply = this.onStart(parsed.value);
      } else if (parsed.value.type === 'stop') {
        const known = this.supervisor.stop(parsed.value.token, parsed.value.reason);
        reply = { ok: true, known };
      } else if (parsed.value.type === 'handoff') {
        reply = this.onHandoff(parsed.value);
      } else if (parsed.value.type === 'forget') {
        this.runDirs.forget(parsed.value.job);
        reply = { ok: true };
      } else {
        void this.onPrune(parsed.value);
        reply = { ok: true };
      }
    } catch (err) {
      this.opts.log.error('command failed', { err });
      reply = { ok: false, error: (err as Error).message };
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  private onStart(cmd: StartCommand): CommandReply {
    if (!this.running()) return { ok: false, error: 'agent is stopping' };
    if (this.preparation.isKnown(cmd.token)) return { ok: true, known: true };
    // a start that waited while this node was frozen or cut off may have been reassigned: never
    // start without a live lease (the coordinator sends it again once the lease is renewed)
    if (!this.lease.live()) {
      this.opts.log.warn('start refused: lease not live', { token: tokenKey(cmd.token) });
      return { ok: false, error: `node ${this.opts.node} has no live lease (renewing it after an outage)` };
    }
    // The coordinator places within the slots; this holds them whatever the bus says. A refusal
    // (not a `rejected` event, which fails the stage) leaves the attempt starting: it is re-sent.
    const used = this.supervisor.liveCount() + this.preparation.reports().length;
    if (used >= this.opts.slots) {
      this.opts.log.warn('start refused: no free slot', { token: tokenKey(cmd.token), used, slots: this.opts.slots });
      return { ok: false, error: `node ${this.opts.node} has no free slot (${used}/${this.opts.slots} runs; --slots ${this.opts.slots})` };
    }
    // fetching and unpacking a workspace takes a while: accept now, report start or refusal as events
    this.runDirs.started(cmd.token.job);
    this.preparation.begin(cmd);
    return { ok: true, known: false };
  }

  private onHandoff(cmd: HandoffCommand): CommandReply {
    const paths = runPaths(this.opts.stateDir, cmd.token);
    if (!existsSync(paths.json)) return { ok: false, error: `no run ${tokenKey(cmd.token)} on this node` };
    writeHandoffMarker(paths, cmd.remote);
    this.opts.log.info('handoff marker written', { token: tokenKey(cmd.token), to: cmd.remote.node });
    return { ok: true };
  }

  private async onPrune(cmd: PruneCommand): Promise<void> {
    // the job's working directory here: every run of the job on this node used it
    const dir = jobWorkDir(this.opts.stateDir, cmd.job);
    if (!existsSync(dir)) return;
    try {
      const removed = await pruneFiles(dir, cmd.globs);
      if (removed.length > 0) this.opts.log.info('pruned run files', { job: cmd.job, dir, removed: removed.length });
    } catch (err) {
      this.opts.log.warn('prune failed', { job: cmd.job, dir, err });
    }
  }
}
