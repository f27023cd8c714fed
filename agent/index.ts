// The agent daemon: registers and heartbeats over NATS, takes start/stop commands
// addressed to this node alone, supervises runs through their runner files, relays
// events through the outbox, and fences its runs when its lease runs out.
import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import { headers, RequestError } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { existsSync } from 'node:fs';
import {
  agentCommandSchema,
  heartbeatReplySchema,
  type CommandReply,
  type HandoffCommand,
  type Heartbeat,
  type PruneCommand,
  type RunEvent,
  type StartCommand,
} from '../proto/bus.js';
import { Buckets } from '../proto/subjects.js';
import { buildPlaybookCommand } from './ansible/playbook-command.js';
import { pruneFiles, unpackWorkspace } from '../lib/workspace/index.js';
import { readFailures, readOutputs, storeArtifacts } from './run-extras.js';
import { writeHandoffMarker } from './handoff.js';
import { createHash } from 'node:crypto';
import { tokenKey, type Labels, type RunToken } from '../proto/names.js';
import { Subjects } from '../proto/subjects.js';
import { formatIssues } from '../proto/validation.js';
import { connectNats } from '../lib/nats.js';
import type { Logger } from '../lib/log.js';
import { loadOrCreateInstance } from './identity.js';
import { Outbox } from './outbox.js';
import { RunSupervisor } from './run-supervisor.js';
import { MeshManager, type MeshManagerOptions } from './mesh/mesh-manager.js';
import { ensurePrivateDir, runPaths } from './runner/run-files.js';
import { join } from 'node:path';

export const VERSION = '0.1.0';

export interface AgentOptions {
  nats: string;
  node: string;
  labels: Labels;
  stateDir: string;
  /** @default 4 */
  slots: number;
  standby: boolean;
  /** @default 500 */
  heartbeatMs: number;
  /** Runs with failover `reassign` are stopped when no heartbeat was acknowledged for this long. @default 1500 */
  leaseMs: number;
  /** SIGTERM -> SIGKILL grace for cancel, timeout and fencing. @default 1500 */
  killGraceMs: number;
  /** @default 64 MiB */
  outboxMaxBytes: number;
  log: Logger;
  /** The node's WireGuard interface (--mesh-if); no mesh when unset. */
  mesh?: Omit<MeshManagerOptions, 'node' | 'stateDir' | 'log'>;
}

export type AgentState = 'NEW' | 'RUNNING' | 'STOPPING' | 'STOPPED';

export class Agent {
  private state: AgentState = 'NEW';
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private sub: Subscription | undefined;
  private timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | undefined;
  private readonly outbox: Outbox;
  private readonly supervisor: RunSupervisor;
  private readonly instance: string;
  private leaseRenewedAt = Date.now();
  private fenced = false;
  private noCoordinator = false;
  private heartbeatInFlight = false;
  private wakePublisher: (() => void) | undefined;
  private readonly mesh: MeshManager | undefined;

  constructor(private readonly opts: AgentOptions) {
    ensurePrivateDir(opts.stateDir);
    this.instance = loadOrCreateInstance(opts.stateDir);
    this.mesh = opts.mesh ? new MeshManager({ ...opts.mesh, node: opts.node, stateDir: opts.stateDir, log: opts.log.child({ part: 'mesh' }) }) : undefined;
    this.outbox = new Outbox({ dir: join(opts.stateDir, 'outbox'), instance: this.instance, maxBytes: opts.outboxMaxBytes, log: opts.log });
    this.supervisor = new RunSupervisor({
      node: opts.node,
      stateDir: opts.stateDir,
      killGraceMs: opts.killGraceMs,
      log: opts.log,
      emit: (e) => this.emit(e),
      publishChunk: (c, t, o, d) => this.publishChunk(c, t, o, d),
      collectExtras: async (t, paths, artifacts, playbook) => ({
        outputs: readOutputs(paths),
        failures: playbook ? readFailures(paths) : [],
        artifacts: await storeArtifacts(() => this.objectStore(), t, paths, artifacts),
      }),
      baseEnv: () => ({ ...(process.env as Record<string, string>), MESHRUN_NODE: opts.node }),
    });
  }

  private setState(state: AgentState): void {
    this.state = state;
    this.opts.log.info('agent state changed', { state });
  }

  async start(): Promise<void> {
    if (this.state !== 'NEW') return;
    const adopted = this.supervisor.adoptAll();
    if (adopted > 0) this.opts.log.info('re-adopted runs from runner files', { adopted });
    // Supervise runs before the bus is reachable: they must be watched even when it is not.
    this.timers.push(setInterval(() => this.tick(), 100));
    this.setState('RUNNING');
    // Tunnels first, from the peers saved on disk: the bus may be reachable only through them.
    await this.mesh?.start();
    this.nc = await connectNats({ servers: this.opts.nats, name: `meshrun-agent-${this.opts.node}`, log: this.opts.log });
    if ((this.state as AgentState) !== 'RUNNING') return;
    this.js = jetstream(this.nc, { timeout: 5000 });
    void this.watchBus(this.nc);
    this.mesh?.attach(this.nc);
    this.sub = this.nc.subscribe(Subjects.agentCommand(this.opts.node), { callback: (err, msg) => {
        if (!err) this.onCommand(msg);
      },
    });
    this.timers.push(setInterval(() => void this.heartbeat(), this.opts.heartbeatMs));
    void this.heartbeat();
    void this.publishLoop();
    this.opts.log.info('agent registered on the bus', { node: this.opts.node, instance: this.instance });
  }

  /** Idempotent; running processes are left alone (they outlive the agent by design). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.setState('STOPPING');
      for (const t of this.timers) clearInterval(t);
      await this.mesh?.close();
      this.wakePublisher?.();
      try {
        this.sub?.unsubscribe();
        await this.nc?.drain();
      } catch (err) {
        this.opts.log.warn('nats drain failed', { err });
      }
      this.setState('STOPPED');
    })();
    return this.closing;
  }

  private tick(): void {
    this.supervisor.tick();
    const expiredFor = Date.now() - this.leaseRenewedAt - this.opts.leaseMs;
    if (expiredFor > 0) {
      const toFence = this.supervisor.fenceable(expiredFor);
      if (toFence.length > 0 || !this.fenced) {
        if (!this.fenced) this.opts.log.warn('lease expired: cut off from the coordinator, fencing runs that will be reassigned', { leaseMs: this.opts.leaseMs, runs: toFence.map(tokenKey) });
        this.fenced = true;
        for (const t of toFence) this.supervisor.stop(t, 'fenced');
      }
    }
  }

  private emit(event: RunEvent): void {
    this.outbox.append(event);
    this.wakePublisher?.();
  }

  /**
   * A publish sent just before the connection dropped is never answered after the
   * reconnect: it would sit out its whole timeout. Abandon such publishes when the bus
   * goes away (JetStream's message ids make the retry safe) and wake the relay when it
   * is back.
   */
  private busDown = false;
  private busLost: { promise: Promise<never>; reject: (e: Error) => void } = newBusLost();

  private async watchBus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.busDown = true;
        this.busLost.reject(new Error('bus disconnected'));
      } else if (s.type === 'reconnect') {
        this.busDown = false;
        this.busLost = newBusLost();
        this.wakePublisher?.();
      }
    }
  }

  private publish(subject: string, data: Uint8Array | string, opts: Parameters<JetStreamClient['publish']>[2]): Promise<unknown> {
    if (!this.js || this.busDown) return Promise.reject(new Error('bus not connected'));
    return Promise.race([this.js.publish(subject, data, opts), this.busLost.promise]);
  }

  private async publishLoop(): Promise<void> {
    while (this.state === 'RUNNING') {
      const rec = this.outbox.peek();
      if (!rec || !this.js || this.busDown) {
        await new Promise<void>((r) => {
          this.wakePublisher = r;
          setTimeout(r, 500);
        });
        continue;
      }
      try {
        await this.publish(Subjects.runEvents(this.opts.node), JSON.stringify(rec), { msgID: rec.id, timeout: 5000 });
        this.outbox.ack(rec.seq);
      } catch (err) {
        this.opts.log.debug('outbox relay paused', { err, pending: this.outbox.size });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private async publishChunk(channel: 'log' | 'pev', token: RunToken, offset: number, data: Uint8Array): Promise<void> {
    if (!this.js) throw new Error('bus not connected');
    const h = headers();
    h.set('Mr-Offset', String(offset));
    const subject = channel === 'log' ? Subjects.log(token) : Subjects.playbookEvents(token);
    await this.publish(subject, data, { msgID: `${channel}:${tokenKey(token)}@${offset}+${data.length}`, headers: h, timeout: 2000 });
  }

  private store: Promise<ObjectStore> | undefined;
  private objectStore(): Promise<ObjectStore> {
    if (!this.nc) return Promise.reject(new Error('bus not connected'));
    this.store ??= new Objm(this.nc).create(Buckets.blobs).catch((err) => {
      this.store = undefined;
      throw err;
    });
    return this.store;
  }

  private async heartbeat(): Promise<void> {
    if (!this.nc || this.heartbeatInFlight || this.state !== 'RUNNING') return;
    this.heartbeatInFlight = true;
    const sentAt = Date.now();
    const hb: Heartbeat = {
      node: this.opts.node,
      instance: this.instance,
      labels: this.opts.labels,
      slots: this.opts.slots,
      standby: this.opts.standby,
      version: VERSION,
      runs: [...this.supervisor.reports(), ...[...this.preparing.values()].map((token) => ({ token, state: 'starting' as const }))],
      sentAt,
      runRoot: join(this.opts.stateDir, 'runs'),
      mesh: this.mesh?.heartbeatStatus(),
    };
    try {
      const msg = await this.nc.request(Subjects.heartbeat(this.opts.node), JSON.stringify(hb), { timeout: Math.max(1000, this.opts.heartbeatMs * 2) });
      const reply = heartbeatReplySchema.safeParse(safeJson(msg.data));
      if (!reply.success) {
        this.opts.log.warn('malformed heartbeat reply ignored', { errors: formatIssues(reply.error) });
        return;
      }
      if (!reply.data.ok) {
        this.opts.log.warn('coordinator refused heartbeat', { error: reply.data.error });
        return;
      }
      this.leaseRenewedAt = sentAt;
      if (this.noCoordinator) this.opts.log.info('coordinator answering again');
      this.noCoordinator = false;
      if (this.fenced) {
        this.fenced = false;
        this.opts.log.info('lease renewed: back in contact with the coordinator');
      }
      for (const t of reply.data.superseded) this.supervisor.stop(t, 'superseded');
      for (const t of reply.data.cancel) this.supervisor.stop(t, 'cancelled');
    } catch (err) {
      if (err instanceof RequestError && err.isNoResponders()) {
        // Connected to the bus and nobody serves heartbeats: no coordinator is running,
        // so nobody can reassign our runs. Hold them (a coordinator that starts gives
        // every node a full heartbeat grace before it fails anything over).
        this.leaseRenewedAt = sentAt;
        if (!this.noCoordinator) this.opts.log.warn('no coordinator on the bus; holding runs until one answers');
        this.noCoordinator = true;
      } else {
        this.opts.log.debug('heartbeat not acknowledged', { err });
      }
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  private onCommand(msg: Msg): void {
    let reply: CommandReply;
    try {
      const parsed = agentCommandSchema.safeParse(safeJson(msg.data));
      if (!parsed.success) {
        reply = { ok: false, error: `invalid command: ${formatIssues(parsed.error).join('; ')}` };
        this.opts.log.warn('invalid command ignored', { subject: msg.subject, error: reply.error });
      } else if (parsed.data.type === 'start') {
        reply = this.onStart(parsed.data);
      } else if (parsed.data.type === 'stop') {
        const known = this.supervisor.stop(parsed.data.token, parsed.data.reason);
        reply = { ok: true, known };
      } else if (parsed.data.type === 'handoff') {
        reply = this.onHandoff(parsed.data);
      } else {
        void this.onPrune(parsed.data);
        reply = { ok: true };
      }
    } catch (err) {
      this.opts.log.error('command failed', { err });
      reply = { ok: false, error: (err as Error).message };
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  private readonly preparing = new Map<string, RunToken>();

  private onStart(cmd: StartCommand): CommandReply {
    if (this.state !== 'RUNNING') return { ok: false, error: 'agent is stopping' };
    const key = tokenKey(cmd.token);
    const paths = runPaths(this.opts.stateDir, cmd.token);
    if (this.preparing.has(key) || existsSync(paths.json)) return { ok: true, known: true };
    if (!cmd.workspace && !cmd.playbook) {
      this.launch(cmd);
      return { ok: true, known: false };
    }
    // fetching and unpacking a workspace takes a while: accept now, report start or refusal as events
    this.preparing.set(key, cmd.token);
    void this.prepare(cmd)
      .then((prepared) => this.launch(prepared))
      .catch((err) => {
        this.opts.log.warn('run refused', { token: key, error: (err as Error).message });
        this.emit({ kind: 'rejected', node: this.opts.node, token: cmd.token, reason: (err as Error).message });
      })
      .finally(() => this.preparing.delete(key));
    return { ok: true, known: false };
  }

  /** Unpacks the job's workspace as the run's cwd and turns a playbook stage into its argv. */
  private async prepare(cmd: StartCommand): Promise<StartCommand> {
    const paths = runPaths(this.opts.stateDir, cmd.token);
    ensurePrivateDir(paths.dir);
    if (cmd.workspace) {
      const os = await this.objectStore();
      const data = await os.getBlob(`ws-${cmd.workspace}`);
      if (!data) throw new Error(`workspace ${cmd.workspace.slice(0, 12)} is not in the object store`);
      const sha = createHash('sha256').update(data).digest('hex');
      if (sha !== cmd.workspace) throw new Error(`workspace ${cmd.workspace.slice(0, 12)} is damaged (content hash ${sha.slice(0, 12)})`);
      await unpackWorkspace(Buffer.from(data), paths.work, { maxBytes: WORKSPACE_MAX_BYTES, maxFiles: 100_000 });
    }
    if (!cmd.playbook) return cmd;
    const pb = buildPlaybookCommand(cmd.playbook, { cwd: paths.work, eventsFile: paths.events });
    return { ...cmd, argv: pb.argv, env: { ...pb.env, ...cmd.env } };
  }

  private launch(cmd: StartCommand): void {
    const paths = runPaths(this.opts.stateDir, cmd.token);
    const r = this.supervisor.start(cmd, {
      MESHRUN_JOB_ID: cmd.token.job,
      MESHRUN_JOB_NAME: cmd.jobName,
      MESHRUN_STAGE: cmd.token.stage,
      MESHRUN_ATTEMPT: String(cmd.token.attempt),
      MESHRUN_RUN_DIR: paths.dir,
      MESHRUN_OUTPUT: paths.output,
    });
    if (!r.known) this.opts.log.info('run started', { token: tokenKey(cmd.token), argv0: cmd.argv[0] });
  }

  private onHandoff(cmd: HandoffCommand): CommandReply {
    const paths = runPaths(this.opts.stateDir, cmd.token);
    if (!existsSync(paths.json)) return { ok: false, error: `no run ${tokenKey(cmd.token)} on this node` };
    writeHandoffMarker(paths, cmd.remote);
    this.opts.log.info('handoff marker written', { token: tokenKey(cmd.token), to: cmd.remote.node });
    return { ok: true };
  }

  private async onPrune(cmd: PruneCommand): Promise<void> {
    for (const dir of this.supervisor.workDirsOf(cmd.job)) {
      try {
        const removed = await pruneFiles(dir, cmd.globs);
        if (removed.length > 0) this.opts.log.info('pruned run files', { job: cmd.job, dir, removed: removed.length });
      } catch (err) {
        this.opts.log.warn('prune failed', { job: cmd.job, dir, err });
      }
    }
  }
}

const WORKSPACE_MAX_BYTES = 1024 * 1024 * 1024;

function newBusLost(): { promise: Promise<never>; reject: (e: Error) => void } {
  let reject!: (e: Error) => void;
  const promise = new Promise<never>((_, rej) => (reject = rej));
  promise.catch(() => undefined); // observed by whichever publish races it
  return { promise, reject };
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
