// The agent daemon: registers and heartbeats over NATS, takes start/stop commands
// addressed to this node alone, supervises runs through their runner files, relays
// events through the outbox, and fences its runs when its lease runs out.
import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import { headers, RequestError } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import {
  agentCommandSchema,
  heartbeatReplySchema,
  type CommandReply,
  type Heartbeat,
  type RunEvent,
  type StartCommand,
} from '../proto/bus.js';
import { tokenKey, type Labels, type RunToken } from '../proto/names.js';
import { Subjects } from '../proto/subjects.js';
import { formatIssues } from '../proto/validation.js';
import { connectNats } from '../lib/nats.js';
import type { Logger } from '../lib/log.js';
import { loadOrCreateInstance } from './identity.js';
import { Outbox } from './outbox.js';
import { RunSupervisor } from './run-supervisor.js';
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

  constructor(private readonly opts: AgentOptions) {
    ensurePrivateDir(opts.stateDir);
    this.instance = loadOrCreateInstance(opts.stateDir);
    this.outbox = new Outbox({ dir: join(opts.stateDir, 'outbox'), instance: this.instance, maxBytes: opts.outboxMaxBytes, log: opts.log });
    this.supervisor = new RunSupervisor({
      node: opts.node,
      stateDir: opts.stateDir,
      killGraceMs: opts.killGraceMs,
      log: opts.log,
      emit: (e) => this.emit(e),
      publishLog: (t, o, d) => this.publishLog(t, o, d),
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
    this.nc = await connectNats({ servers: this.opts.nats, name: `meshrun-agent-${this.opts.node}`, log: this.opts.log });
    if ((this.state as AgentState) !== 'RUNNING') return;
    this.js = jetstream(this.nc, { timeout: 5000 });
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

  private async publishLoop(): Promise<void> {
    while (this.state === 'RUNNING') {
      const rec = this.outbox.peek();
      if (!rec || !this.js) {
        await new Promise<void>((r) => {
          this.wakePublisher = r;
          setTimeout(r, 500);
        });
        continue;
      }
      try {
        await this.js.publish(Subjects.runEvents(this.opts.node), JSON.stringify(rec), { msgID: rec.id, timeout: 5000 });
        this.outbox.ack(rec.seq);
      } catch (err) {
        this.opts.log.debug('outbox relay paused', { err, pending: this.outbox.size });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private async publishLog(token: RunToken, offset: number, data: Uint8Array): Promise<void> {
    if (!this.js) throw new Error('bus not connected');
    const h = headers();
    h.set('Mr-Offset', String(offset));
    await this.js.publish(Subjects.log(token), data, { msgID: `${tokenKey(token)}@${offset}+${data.length}`, headers: h, timeout: 2000 });
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
      runs: this.supervisor.reports(),
      sentAt,
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
      } else {
        const known = this.supervisor.stop(parsed.data.token, parsed.data.reason);
        reply = { ok: true, known };
      }
    } catch (err) {
      this.opts.log.error('command failed', { err });
      reply = { ok: false, error: (err as Error).message };
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  private onStart(cmd: StartCommand): CommandReply {
    if (this.state !== 'RUNNING') return { ok: false, error: 'agent is stopping' };
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
    return { ok: true, known: r.known };
  }
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
