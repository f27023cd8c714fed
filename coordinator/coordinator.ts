// The coordinator daemon: keeps the node registry from heartbeats, accepts jobs, places
// stages, dispatches runs to agents and applies their events. Every state change is an
// event given to the job machine (job-machine.ts); this class persists the result, then
// sends what it says, and schedules the next pass. All state is in JetStream KV and
// written before acting, so a kill -9 at any point loses nothing.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { heartbeatSchema, nodeRecordSchema, type Heartbeat, type HeartbeatReply, type NodeRecord, type RunEvent } from '../proto/bus.js';
import type { NatsAuth } from '../proto/config.js';
import { decode } from '../proto/decode.js';
import { jobSpecSchema, stageRequest, type JobSpec, type StageSpec } from '../proto/job-spec.js';
import { tokenKey, type Labels, type RunToken } from '../proto/names.js';
import { isTerminalJob, type JobOrigin, type JobRecord } from '../proto/records.js';
import type { SecretValues } from '../proto/secrets.js';
import type { SecretStore } from './secrets.js';
import { Buckets, Subjects } from '../proto/subjects.js';
import { parseWith } from '../proto/validation.js';
import { ErrorCode, InvalidInputError, MeshrunError } from '../lib/errors.js';
import { Lifecycle, SerialQueue } from '../lib/lifecycle.js';
import { Limits, RetentionDefaults } from '../lib/limits.js';
import type { Logger } from '../lib/log.js';
import { watchLoopLag } from '../lib/loop-lag.js';
import { connectNats, ensureStreams, openKv, untilBusAnswers, useReplicas } from '../lib/nats.js';
import { readKv } from '../lib/kv-read.js';
import { BlobService } from './blob-service.js';
import { artifactObject, BlobStore, workspaceObject } from './blob-store.js';
import { Dispatcher } from './dispatcher.js';
import { consumeRunEvents, type EventConsumer } from './event-consumer.js';
import { activeAttempts, findAttempt, newJobRecord, prunesDue, rerunPlan, retryDue, runVerdict, startingAttempts, step, type Effect, type FanoutPlacer, type JobEvent } from './job-machine.js';
import { JobStore } from './job-store.js';
import { Leadership, leadNotConfirmed, leaderServedReads, machineId, type LeaderRecord } from './leadership.js';
import { coordinatorDefaults } from './defaults.js';
import { WorkspaceUploads, type WorkspaceUpload } from './workspace-uploads.js';
import { LivenessMonitor } from './liveness-monitor.js';
import { Retention, type RetentionPolicy } from './retention.js';
import { NodeRegistry, sameLabels, type NodeEntry, type NodeUsage } from './node-registry.js';
import { book, fanoutTargets, nodeGone, place, type PlacementResult } from './scheduler.js';
import { Schedules } from './schedules.js';

export interface CoordinatorOptions {
  nats: string;
  natsAuth?: NatsAuth;
  /** @default 1500 */
  suspectAfterMs: number;
  /** @default 5000 */
  downAfterMs: number;
  /** A node whose agent's connection closed is held this long before its work fails over. @default 30000 */
  restartGraceMs?: number;
  /** How long and how many ended jobs are kept. @default RetentionDefaults */
  retention?: RetentionPolicy;
  /** Several coordinators on one bus: a standby takes over after the leader's lease lapses this long. @default 3000 */
  leaderLeaseMs?: number;
  /** Copies of every stream, bucket and object store (3 on a 3-server nats-server cluster). @default 1 */
  replicas?: number;
  /** This coordinator's gRPC address, recorded in the leader lease for operators. */
  address?: string;
  /** The lead was lost (another coordinator took over): stop at once. @default close() */
  onLeadershipLost?: (why: string) => void;
  log: Logger;
}

export type CoordinatorState = 'NEW' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED';

const SWEEP_MS = 250;
/** A stall this long already eats a third of an agent's default lease. */
const LOOP_LAG_WARN_MS = 500;
/** How often retention looks for ended jobs to remove. */
const RETENTION_MS = 5000;
/**
 * How much longer than --leader-lease an agent's lease must be for it to hold its runs through
 * a standby's takeover from a frozen leader: the standby notices at its next poll, and the
 * frozen leader's last renewal may have been a renewal interval before it froze; then a
 * heartbeat interval (500 ms) passes before the agent asks again.
 */
const TAKEOVER_SLACK_MS = 1000;
/** The reply to nearly every heartbeat (no run to stop), encoded once: at 20,000 a second building it was a few % of the CPU. */
const PLAIN_REPLY = {
  ready: new TextEncoder().encode(JSON.stringify({ ok: true, superseded: [], cancel: [], draining: false, hold: false } satisfies HeartbeatReply)),
  draining: new TextEncoder().encode(JSON.stringify({ ok: true, superseded: [], cancel: [], draining: true, hold: false } satisfies HeartbeatReply)),
  /** From a coordinator that has just taken the lead, before its state is loaded. */
  hold: new TextEncoder().encode(JSON.stringify({ ok: true, superseded: [], cancel: [], draining: false, hold: true } satisfies HeartbeatReply)),
} as const;

export class Coordinator {
  private readonly life: Lifecycle<CoordinatorState>;
  private readonly queue: SerialQueue;
  private nc!: NatsConnection;
  private js!: JetStreamClient;
  private kvJobs!: KV;
  private kvJobIndex!: KV;
  private kvNodes!: KV;
  private kvSchedules!: KV;
  private hbSub: Subscription | undefined;
  private readonly hbObservers: ((subject: string, data: Uint8Array) => void)[] = [];
  private stopLagWatch: (() => void) | undefined;
  private leadership: Leadership | undefined;
  private events: EventConsumer | undefined;
  private blobService: BlobService | undefined;
  private timers: NodeJS.Timeout[] = [];
  private busAway = false;
  private readonly jobs: JobStore;
  private readonly blobs: BlobStore;
  private readonly workspaceUploads: WorkspaceUploads;
  private readonly dispatch: Dispatcher;
  private readonly liveness: LivenessMonitor;
  private readonly retention: Retention;
  private retaining: Promise<number> | undefined;
  readonly nodes: NodeRegistry;
  /** Cron schedules, fired by this coordinator while it leads. */
  readonly schedules: Schedules;

  constructor(private readonly opts: CoordinatorOptions) {
    this.life = new Lifecycle<CoordinatorState>('coordinator', 'NEW', opts.log);
    this.queue = new SerialQueue(opts.log, 'coordinator step failed');
    this.nodes = new NodeRegistry({ suspectAfterMs: opts.suspectAfterMs, downAfterMs: opts.downAfterMs, restartGraceMs: opts.restartGraceMs });
    this.jobs = new JobStore({
      kv: () => this.kvJobs,
      index: () => this.kvJobIndex,
      nc: () => this.nc,
      log: opts.log,
      onConflict: (id) => this.leadership?.deposed(`a write of job ${id} was refused`),
      mayWrite: () => {
        if (this.leadership && !this.leadership.valid()) throw leadNotConfirmed();
      },
    });
    this.blobs = new BlobStore(() => this.nc, opts.log);
    this.workspaceUploads = new WorkspaceUploads(this.blobs, opts.log.child({ part: 'workspaces' }));
    this.dispatch = new Dispatcher(() => this.nc, opts.log);
    this.liveness = new LivenessMonitor(this.nodes, opts.log);
    this.retention = new Retention(
      {
        nc: () => this.nc,
        log: opts.log.child({ part: 'retention' }),
        blobs: this.blobs,
        ended: () => this.jobs.ended(),
        owesPrune: (id) => this.jobs.owesPrune(id),
        record: (id) => this.jobs.get(id, { cache: false }),
        // a job retried since retention chose it is not removed
        removeRecord: (id) => this.serial(() => (this.jobs.isActive(id) ? undefined : this.jobs.delete(id))),
        removeWorkspace: (sha256, removing) => this.serial(() => this.removeWorkspaceIfUnused(sha256, () => this.jobs.workspaceUsers(sha256, removing) > 0)),
        workspacesInUse: () => [...this.jobs.workspacesInUse(), ...this.schedules.workspaces(), ...this.workspacesBeingSubmitted.keys()],
        removeSecrets: async (id) => {
          await this.secretStore?.remove(id);
        },
        forgetOnNode: (id, node) => (this.liveness.isReady(node, Date.now()) ? this.dispatch.forget(id, node) : Promise.resolve(false)),
        forgotten: (ids) => this.dispatch.forgetJobs(ids),
        purgeKvMarkers: async (olderThanMs) => {
          // on the bucket, not in the KV interface's type: drops delete markers older than this
          for (const kv of [this.kvJobs, this.kvJobIndex, this.kvSchedules]) await (kv as KV & { purgeDeletes(olderMillis: number): Promise<unknown> }).purgeDeletes(olderThanMs);
        },
      },
      opts.retention ?? RetentionDefaults,
    );
    this.schedules = new Schedules({
      kv: () => this.kvSchedules,
      readAll: (each) => readKv(this.nc, Buckets.schedules, each),
      log: opts.log.child({ part: 'schedules' }),
      mayAct: () => this.life.state === 'RUNNING' && !this.busAway && (this.leadership?.valid() ?? true),
      submit: (id, specJson, workspace, origin) => this.submit(id, specJson, workspace, {}, origin),
      jobOrigin: async (id) => (this.jobs.has(id) ? ((await this.jobs.get(id))?.schedule ?? null) : undefined),
      runningJobOf: (name) => this.jobs.active().find((j) => j.schedule?.name === name)?.id,
      jobs: (ids) => this.jobs.records(ids),
      checkSpec: (specJson) => {
        const spec = this.parseSpec(specJson);
        return { name: spec.name, secrets: Object.keys(spec.secrets ?? {}).length > 0 };
      },
      hasWorkspace: (sha256) => this.blobs.has(workspaceObject(sha256)),
    });
    // a firing's job ended: a tick queued behind it may go now
    this.jobs.changes.on('job', (job: JobRecord) => {
      if (job.schedule && job.endedAt !== null) this.schedules.wake();
    });
  }

  /** One retention pass now (also run every few seconds); resolves to the number of jobs removed. */
  retainNow(): Promise<number> {
    this.retaining ??= this.retention.sweep().finally(() => (this.retaining = undefined));
    return this.retaining;
  }

  /** The coordinator holding the leader lease, as last read (this one, once it leads). */
  get leader(): LeaderRecord | undefined {
    return this.leadership?.holder;
  }

  /** Holds the leader lease. */
  get leads(): boolean {
    return this.leadership?.isLeader ?? false;
  }

  get connection(): NatsConnection {
    return this.nc;
  }

  /** Emits 'job' (JobRecord) after every persisted change, and 'loaded' (the held JobRecords) once state is loaded on taking the lead. */
  get changes(): JobStore['changes'] {
    return this.jobs.changes;
  }

  /** Jobs that have not ended, oldest submission first (held in memory: reads nothing). */
  activeJobs(): JobRecord[] {
    return this.jobs.active();
  }

  private readonly runEventObservers: ((ev: RunEvent) => void)[] = [];

  /** Run events that changed a job, once each, after the job machine applied them (metrics). */
  observeRunEvents(fn: (ev: RunEvent) => void): void {
    this.runEventObservers.push(fn);
  }

  async start(): Promise<void> {
    if (this.life.state !== 'NEW') return;
    this.life.set('STARTING');
    this.nc = await connectNats({ servers: this.opts.nats, name: 'meshrun-coordinator', log: this.opts.log, ...this.opts.natsAuth });
    useReplicas(this.nc, this.opts.replicas ?? 1);
    void this.watchConnection();
    // a standby that starts while the cluster elects (or lacks a majority) waits, it does not exit
    const kvLeader = await this.untilBusAnswers('streams and the lease bucket', async () => {
      await ensureStreams(this.nc);
      // a standby waits in acquire() until it leads: nothing below (state, heartbeats, the
      // event consumer, placement, the gRPC port) is touched by more than one coordinator at a time
      return leaderServedReads(await openKv(this.nc, Buckets.leader));
    });
    if (!kvLeader) return; // closed meanwhile
    const leaseMs = this.opts.leaderLeaseMs ?? coordinatorDefaults.leaderLeaseMs;
    this.leadership = new Leadership({
      kv: () => kvLeader,
      me: { id: randomBytes(8).toString('hex'), address: this.opts.address ?? '', pid: process.pid, host: hostname(), machine: machineId(), since: Date.now(), leaseMs },
      leaseMs,
      log: this.opts.log,
      onLost: (why) => (this.opts.onLeadershipLost ? this.opts.onLeadershipLost(why) : void this.close()),
      // Agents must hold meanwhile, not fence: with nobody subscribed their heartbeats get
      // "no responders" (a heartbeat left unanswered would run their leases out)
      onSuspended: () => this.unsubscribeHeartbeats(),
      // heartbeats went unread meanwhile: nobody is judged on that silence
      onRegained: () => {
        this.nodes.refreshAll(Date.now());
        if (this.life.state === 'RUNNING' || this.life.state === 'STARTING') this.subscribeHeartbeats();
      },
      onBusTrouble: () => this.tryAnotherServer(),
    });
    await this.leadership.acquire();
    if ((this.life.state as CoordinatorState) !== 'STARTING') return; // closed while a standby
    // Heartbeats are answered from the moment the lead is taken: until the state is loaded
    // with "hold" (keep your runs, start nothing new). A leader that froze still holds its
    // subscription, so agents' heartbeats time out instead of finding nobody; their leases
    // (--lease, longer than --leader-lease plus a heartbeat) must not run out before this.
    this.subscribeHeartbeats();
    this.js = jetstream(this.nc, { timeout: 5000 });
    // Leading now: a step the bus does not answer yet (a cluster still electing stream leaders
    // after a server went away) is tried again, not fatal - exiting would hand the lead round
    // and round. The lease is renewed meanwhile.
    const loaded = await this.untilBusAnswers('state', async () => {
      this.kvJobs = await openKv(this.nc, Buckets.jobs);
      this.kvJobIndex = await openKv(this.nc, Buckets.jobIndex);
      this.kvNodes = await openKv(this.nc, Buckets.nodes);
      this.kvSchedules = await openKv(this.nc, Buckets.schedules);
      await this.load();
      return true;
    });
    const events = loaded && (await this.untilBusAnswers('run events', () => consumeRunEvents(this.nc, this.js!, (ev) => this.serial(() => this.applyRunEvent(ev)), this.opts.log)));
    if (!events) return; // closed meanwhile
    this.events = events;
    // agents reach workspaces and artifacts only through this service, never the object store
    // a node asks only about runs it holds: those of held jobs (a finished one is refused alike)
    this.blobService = new BlobService({ nc: this.nc, store: this.blobs, job: (id) => this.jobs.peek(id), log: this.opts.log.child({ part: 'blobs' }) });
    this.blobService.start();
    this.stopLagWatch = watchLoopLag(this.opts.log, LOOP_LAG_WARN_MS);
    this.timers.push(setInterval(() => void this.serial(() => this.sweep()), SWEEP_MS));
    this.timers.push(setInterval(() => void (this.busAway || this.life.state !== 'RUNNING' ? undefined : this.retainNow()), RETENTION_MS));
    this.life.set('RUNNING');
    // Heartbeats are answered in full only from here on; nobody is judged on a silence
    // from before this coordinator led.
    this.nodes.refreshAll(Date.now());
    this.subscribeHeartbeats();
    await this.serial(() => this.scheduleAll());
    this.schedules.start();
  }

  private lastServerSwitch = 0;

  /**
   * A start-up step (this one's, or the daemon's after it leads) tried again while JetStream
   * does not answer, moving to another server meanwhile; undefined once the coordinator is closing.
   */
  untilBusAnswers<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    const closing = (): boolean => this.life.state === 'STOPPING' || this.life.state === 'STOPPED';
    return untilBusAnswers(what, step, this.opts.log, closing, () => this.tryAnotherServer());
  }

  /**
   * With several nats-servers: JetStream not answering on this connection (its server cut off
   * from the majority, or without a stream leader) moves it to another server; at most every
   * 5 s, since a cluster electing a stream leader is also silent for a few seconds.
   */
  private tryAnotherServer(): void {
    if (!this.opts.nats.includes(',') || this.busAway || Date.now() - this.lastServerSwitch < 5000) return;
    // Leading with the lease just confirmed through this server: it is in the majority, and a
    // step that times out waits on a stream electing its leader. Moving would not help, and the
    // reconnect (up to 3 s when it dials the server that is cut off) would miss the renewals and
    // hand the lead to a standby that then waits on the same election (CI: the lead went round
    // the three coordinators for a minute after one machine was cut off).
    if (this.leadership?.valid()) return;
    this.lastServerSwitch = Date.now();
    this.opts.log.warn('JetStream not answering on this connection; trying another nats-server', { server: this.nc.getServer() });
    this.nc.reconnect().catch(() => undefined);
  }

  private subscribeHeartbeats(): void {
    if (this.hbSub) return;
    this.hbSub = this.nc.subscribe(Subjects.heartbeatWildcard, {
      callback: (err, msg) => {
        if (err) return;
        this.onHeartbeat(msg);
        for (const fn of this.hbObservers) fn(msg.subject, msg.data);
      },
    });
  }

  /**
   * Heartbeats as this coordinator receives them (the mesh half). There is one subscription on
   * the subject, and it goes away while this coordinator is unsure it leads: agents then get
   * "no responders" at once and hold their runs.
   */
  observeHeartbeats(fn: (subject: string, data: Uint8Array) => void): void {
    this.hbObservers.push(fn);
  }

  private unsubscribeHeartbeats(): void {
    this.hbSub?.unsubscribe();
    this.hbSub = undefined;
  }

  close(): Promise<void> {
    return this.life.closeOnce(async () => {
      this.life.set('STOPPING');
      for (const t of this.timers) clearInterval(t);
      this.stopLagWatch?.();
      try {
        await this.schedules.stop();
        this.unsubscribeHeartbeats();
        this.events?.stop();
        this.blobService?.stop();
        await this.retaining;
        await this.queue.idle();
        await this.jobs.flush();
        // a standby takes over at once instead of waiting the lease out
        await this.leadership?.release();
        await this.nc?.drain();
      } catch (err) {
        this.opts.log.warn('nats drain failed', { err });
      }
      this.life.set('STOPPED');
    });
  }

  /** Every state change runs one at a time, in order. */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.queue.run(fn);
  }

  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this.busAway = true;
      if (s.type === 'reconnect') {
        this.busAway = false;
        this.nodes.refreshAll(Date.now());
        this.opts.log.info('back on the bus: giving every node a fresh heartbeat grace');
      }
    }
  }

  private async load(): Promise<void> {
    const nodeRecords: NodeRecord[] = [];
    // one streamed read, not a get per node: 5,000 agents are 5,000 keys
    await readKv(this.nc, Buckets.nodes, (e) => {
      const r = decode(nodeRecordSchema, e.data);
      if (r.ok) nodeRecords.push(r.value);
      else this.opts.log.warn('damaged node record skipped', { key: e.key, errors: r.errors });
    });
    this.nodes.load(nodeRecords, Date.now());
    const jobs = await this.jobs.load();
    this.jobs.changes.emit('loaded', [...this.jobs.heldJobs()]);
    const schedules = await this.schedules.load();
    this.opts.log.info('state loaded', { nodes: nodeRecords.length, jobs: jobs.jobs, held: jobs.held, jobsMs: jobs.ms, schedules });
  }

  private async persistNode(e: NodeEntry): Promise<void> {
    await this.kvNodes.put(e.record.name, JSON.stringify(e.record));
  }

  /**
   * Gives one event to the job machine and starts persisting the result. Returns the effects for
   * the caller to carry out once `written` resolves (nothing is sent before the change is stored),
   * and whether the job changed. The serial step does not wait for the write: writes of different
   * jobs go on together, those of one job in order (JobStore.persist).
   */
  private async apply(job: JobRecord, event: JobEvent, now = Date.now()): Promise<{ changed: boolean; effects: Effect[]; written: Promise<void> }> {
    const wasEnded = job.endedAt !== null;
    const r = step(job, event, now);
    if (r.illegal.length > 0) this.opts.log.error('job machine made a transition its table does not allow', { job: job.id, transitions: r.illegal });
    const written = r.changed || event.kind === 'place' ? this.jobs.persist(job) : Promise.resolve();
    // whoever does not wait for it still hears of a failed write
    written.catch((err: unknown) => this.opts.log.error('job state not written', { job: job.id, event: event.kind, err }));
    // an ended job's secrets are forgotten: no attempt of it can ask for them any more
    if (r.changed && isTerminalJob(job.state) && this.secretStore && job.spec.secrets) {
      await this.secretStore.remove(job.id).catch((err) => this.opts.log.error('secrets of an ended job not removed', { err, job: job.id }));
    }
    // prune covers the stored workspace too: it holds the files the globs name
    if (!wasEnded && job.endedAt !== null && job.workspace && job.spec.prune?.length) {
      const sha256 = job.workspace;
      await this.removeWorkspaceIfUnused(sha256, () => this.jobs.active().some((j) => j.workspace === sha256) || this.schedules.usesWorkspace(sha256)).catch((err) => this.opts.log.warn('workspace of a pruned job not removed', { err, job: job.id }));
    }
    return { changed: r.changed, effects: r.effects, written };
  }

  /** Carries out a job's effects once the change that asked for them is stored. */
  private carryOutWhenWritten(job: JobRecord, effects: readonly Effect[], written: Promise<void>): void {
    if (effects.length === 0) return;
    written.then(
      () => this.carryOut(job, effects),
      () => undefined, // logged by apply; starts are sent again by the sweep once a write lands
    );
  }

  /**
   * Removes a stored workspace unless it is `needed`. Called in the serial queue (a submit
   * naming the same workspace is checked and added there too, so none slips in between).
   */
  private async removeWorkspaceIfUnused(sha256: string, needed: () => boolean): Promise<boolean> {
    if (needed() || this.workspacesBeingSubmitted.has(sha256)) return false;
    const removed = await this.blobs.delete(workspaceObject(sha256));
    if (removed) this.opts.log.info('workspace removed from the object store', { sha256: sha256.slice(0, 12) });
    return removed;
  }

  // ---- client API (called by the gRPC server) ----

  /** A job spec as a client sends it (JSON), checked: its size, then the schema; errors name the field. */
  private parseSpec(specJson: string): JobSpec {
    const specBytes = Buffer.byteLength(specJson);
    if (specBytes > Limits.jobSpecMaxBytes) throw new MeshrunError(ErrorCode.TooLarge, `job spec is ${specBytes} bytes, over the limit of ${Limits.jobSpecMaxBytes} (limit jobSpecMaxBytes)`);
    let raw: unknown;
    try {
      raw = JSON.parse(specJson);
    } catch (err) {
      throw new InvalidInputError(`job spec is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = parseWith(jobSpecSchema, raw);
    if (!parsed.ok) throw new InvalidInputError(parsed.errors.join('; '));
    return parsed.value as JobSpec;
  }

  /** Submits whose record is being written: a second submit of the same id waits for the first. */
  private readonly creating = new Map<string, Promise<{ job: JobRecord; created: boolean }>>();
  /** Workspaces of those submits: checked stored, named by no held job yet, and not to be removed. */
  private readonly workspacesBeingSubmitted = new Map<string, number>();

  /**
   * `origin`: the schedule whose firing this is (the job record names it). The checks run in
   * order with the other steps, but the record's write does not: a burst of submits writes its
   * records together, and run events and placements go on meanwhile instead of queueing behind
   * one KV round trip per submit (the throughput bench saw a job finish only once the whole
   * burst was in).
   */
  async submit(id: string, specJson: string, workspace: string | null, secrets: SecretValues = {}, origin: JobOrigin | null = null): Promise<{ job: JobRecord; created: boolean }> {
    const spec = this.parseSpec(specJson);
    this.checkSecrets(spec, secrets);
    const inFlight = this.creating.get(id);
    if (inFlight) return { job: (await inFlight).job, created: false };
    const creating = this.createJob(id, spec, workspace, secrets, origin);
    this.creating.set(id, creating);
    try {
      return await creating;
    } finally {
      this.creating.delete(id);
    }
  }

  private async createJob(id: string, spec: JobSpec, workspace: string | null, secrets: SecretValues, origin: JobOrigin | null): Promise<{ job: JobRecord; created: boolean }> {
    const existing = await this.serial(async () => {
      const found = await this.jobs.get(id);
      if (found) return found;
      // checked here, in order with removals of workspaces no job needs any more; from here to
      // the job being held, the workspace counts as needed
      if (workspace && !(await this.blobs.has(workspaceObject(workspace)))) {
        throw new InvalidInputError(`workspace ${workspace.slice(0, 12)} is not stored: upload it first (meshrun submit --workspace DIR does)`);
      }
      if (workspace) this.workspacesBeingSubmitted.set(workspace, (this.workspacesBeingSubmitted.get(workspace) ?? 0) + 1);
      return undefined;
    });
    if (existing) return { job: existing, created: false };
    try {
      const job = newJobRecord(id, spec, Date.now(), workspace, origin);
      // refused whole before it is held anywhere: a record the bucket cannot take must not
      // stay in memory, where every scheduling pass would trip over it
      const recordBytes = Buffer.byteLength(JSON.stringify(job));
      if (recordBytes > Limits.jobRecordMaxBytes) {
        throw new MeshrunError(ErrorCode.TooLarge, `job record would be ${recordBytes} bytes, over the limit of ${Limits.jobRecordMaxBytes} (limit jobRecordMaxBytes)`);
      }
      // stored (encrypted) before the job exists: no run can start without its secrets
      if (Object.keys(secrets).length > 0) await this.secretStore!.put(id, secrets);
      // the job exists once its record is durable: only then is it held, placed and answered
      let held: JobRecord;
      try {
        held = await this.jobs.create(job);
      } catch (err) {
        if (Object.keys(secrets).length > 0) await this.secretStore!.remove(id).catch(() => undefined);
        throw err;
      }
      return await this.serial(async () => {
        if (held !== job) {
          this.opts.log.warn('job record found stored by an earlier submit whose write was slow; held as it is', { job: id });
          await this.schedule(held);
          return { job: held, created: false };
        }
        this.opts.log.info('job submitted', { job: id, name: job.name, stages: job.stages.length, ...(origin ? { schedule: origin.name } : {}) });
        await this.schedule(job);
        return { job, created: true };
      });
    } finally {
      if (workspace) {
        const n = (this.workspacesBeingSubmitted.get(workspace) ?? 1) - 1;
        if (n > 0) this.workspacesBeingSubmitted.set(workspace, n);
        else this.workspacesBeingSubmitted.delete(workspace);
      }
    }
  }

  /** Job secrets, kept encrypted; without them (a coordinator started --insecure) a job with secrets is refused. */
  private secretStore: SecretStore | undefined;

  useSecrets(store: SecretStore): void {
    this.secretStore = store;
  }

  /** The values sent must be exactly the secrets the spec declares. */
  private checkSecrets(spec: JobSpec, values: SecretValues): void {
    const declared = Object.keys(spec.secrets ?? {}).sort();
    const given = Object.keys(values).sort();
    if (declared.length === 0 && given.length === 0) return;
    if (!this.secretStore) throw new MeshrunError(ErrorCode.Conflict, 'this coordinator keeps no secrets: it runs --insecure (start it with --trust-dir)');
    const missing = declared.filter((n) => !given.includes(n));
    const extra = given.filter((n) => !declared.includes(n));
    if (missing.length > 0) throw new InvalidInputError(`secrets ${missing.join(', ')} are declared but no value was sent (meshrun submit reads them from the sources the job file names)`);
    if (extra.length > 0) throw new InvalidInputError(`secrets ${extra.join(', ')} were sent but the job file does not declare them`);
  }

  /** The job's record; a finished one is read from KV (and kept a while among the recent). */
  getJob(id: string): Promise<JobRecord | undefined> {
    return this.jobs.get(id);
  }

  /** The job's record if memory holds it (every job that has not ended), without reading KV. */
  peekJob(id: string): JobRecord | undefined {
    return this.jobs.peek(id);
  }

  /** The job is stored and has not ended. */
  isActiveJob(id: string): boolean {
    return this.jobs.isActive(id);
  }

  /**
   * The newest `limit` jobs by submission (0: the most one answer holds, Limits.listJobsMax),
   * oldest first, and whether older ones exist; with `withActive`, every job that has not ended
   * too, however old. Only the records listed are read.
   */
  async listJobs(limit: number, withActive = false): Promise<{ jobs: JobRecord[]; more: boolean }> {
    const { ids, more } = this.jobs.newest(limit > 0 ? Math.min(limit, Limits.listJobsMax) : Limits.listJobsMax);
    if (withActive) {
      const listed = new Set(ids);
      for (const j of this.jobs.active()) if (!listed.has(j.id)) ids.push(j.id);
    }
    const jobs = await this.jobs.records(ids);
    jobs.sort((a, b) => a.submittedAt - b.submittedAt);
    return { jobs, more };
  }

  /** Ids only (no record read): the newest `limit` by submission, newest first, and every job that has not ended. */
  jobIds(limit: number): { newest: string[]; more: boolean; active: string[] } {
    const { ids, more } = this.jobs.newest(limit);
    return { newest: ids, more, active: this.jobs.active().map((j) => j.id) };
  }

  /**
   * `meshrun retry`: a new run of the ended job that re-runs what did not succeed (and `from`, and
   * what depends on those) and keeps the rest (job-machine.ts rerunPlan). The job's secrets were
   * forgotten when it ended: a job that declares any needs their values again, as at submit.
   * Answered once the new run is stored.
   */
  async retry(id: string, from: string | null, secrets: SecretValues, by: string): Promise<JobRecord> {
    const { job, written } = await this.serial(async () => {
      const job = await this.jobs.get(id);
      if (!job) throw new MeshrunError(ErrorCode.NotFound, `no job ${id}`);
      const plan = rerunPlan(job, from);
      if (!plan.ok) throw plan.why === 'unknown-stage' ? new InvalidInputError(plan.message) : new MeshrunError(ErrorCode.Conflict, plan.message);
      if (job.spec.secrets && Object.keys(job.spec.secrets).length > 0 && Object.keys(secrets).length === 0) {
        throw new InvalidInputError(`job ${id} declares secrets (${Object.keys(job.spec.secrets).join(', ')}); they were forgotten when it ended: give them again (meshrun retry ${id} --secrets-from JOB-FILE reads them as submit does)`);
      }
      this.checkSecrets(job.spec, secrets);
      if (job.workspace && !(await this.blobs.has(workspaceObject(job.workspace)))) {
        throw new MeshrunError(ErrorCode.Conflict, `the workspace of job ${id} (${job.workspace.slice(0, 12)}) is no longer stored (removed when the job ended, by its prune:, or by retention): submit the job again`);
      }
      const recordBytes = Buffer.byteLength(JSON.stringify(job));
      if (recordBytes > Limits.jobRecordMaxBytes * 0.9) {
        throw new MeshrunError(ErrorCode.TooLarge, `job ${id}'s record is ${recordBytes} bytes, too near the limit of ${Limits.jobRecordMaxBytes} for another run (limit jobRecordMaxBytes): submit it again`);
      }
      await this.jobs.reopening(job);
      if (Object.keys(secrets).length > 0) await this.secretStore!.put(id, secrets);
      const r = step(job, { kind: 'retry', rerun: plan.rerun, from, by }, Date.now());
      if (r.illegal.length > 0) this.opts.log.error('job machine made a transition its table does not allow', { job: job.id, transitions: r.illegal });
      this.jobs.reopen(job);
      const written = this.jobs.persist(job);
      written.catch((err: unknown) => this.opts.log.error('job state not written', { job: job.id, event: 'retry', err }));
      this.opts.log.info('job retried: a new run', { job: id, run: job.run, from, rerun: plan.rerun, by });
      await this.schedule(job);
      return { job, written };
    });
    await written;
    return job;
  }

  async cancel(id: string): Promise<JobRecord> {
    const { job, written } = await this.serial(async () => {
      const job = await this.jobs.get(id);
      if (!job) throw new MeshrunError(ErrorCode.NotFound, `no job ${id}`);
      const { effects, written } = await this.apply(job, { kind: 'cancel' });
      await this.schedule(job);
      await this.scheduleAll();
      this.carryOutWhenWritten(job, effects, written);
      return { job, written };
    });
    // answered once the cancel is stored
    await written;
    return job;
  }

  async setDraining(name: string, draining: boolean): Promise<NodeEntry> {
    return this.serial(async () => {
      const e = this.nodes.entries.get(name);
      if (!e) throw new MeshrunError(ErrorCode.NotFound, `no node ${name}`);
      e.record.draining = draining;
      await this.persistNode(e);
      this.opts.log.info(draining ? 'node draining' : 'node undrained', { node: name });
      if (!draining) await this.scheduleAll();
      return e;
    });
  }

  /**
   * `meshrun node remove`: the node leaves placement and `meshrun nodes`, and its active runs
   * follow their failover policy as if it were down. False when no such node is registered.
   */
  async removeNode(name: string): Promise<boolean> {
    return this.serial(async () => {
      const e = this.nodes.entries.get(name);
      if (!e || e.record.removed) return false;
      e.record.removed = true;
      await this.persistNode(e);
      this.opts.log.info('node removed', { node: name });
      await this.nodeLost(name, `node ${name} was removed`);
      await this.scheduleAll();
      return true;
    });
  }

  /**
   * Opens a streamed workspace upload by `caller` of the archive with the claimed sha256,
   * stored once by content hash; refused when too many uploads are open.
   */
  beginWorkspaceUpload(caller: string, claimed: string): WorkspaceUpload {
    return this.workspaceUploads.begin(caller, claimed);
  }

  getBlob(name: string): Promise<Buffer | undefined> {
    return this.blobs.get(name);
  }

  /** Per node: its active attempts (slots) and the sum of their stages' requests (allocated cpu and memory). */
  usageByNode(): Map<string, NodeUsage> {
    const m = new Map<string, NodeUsage>();
    for (const job of this.jobs.heldJobs()) {
      // a queued job has no attempt at all (summarize: any attempt makes it running): a backlog
      // of thousands costs a comparison each here, not a walk of its stages
      if (job.state === 'queued') continue;
      for (const { node, request } of activeAttempts(job)) {
        const u = m.get(node);
        if (!u) m.set(node, { running: 1, allocated: { ...request } });
        else {
          u.running += 1;
          u.allocated.cpu += request.cpu;
          u.allocated.memory += request.memory;
        }
      }
    }
    return m;
  }

  // ---- scheduling ----

  /** Advances one job (its dependencies, cancel, placement) and sends its starts. */
  private async schedule(job: JobRecord): Promise<void> {
    await this.placeJobs([job], false);
  }

  /**
   * Capacity or the fleet changed: give waiting jobs a chance, oldest first. Stops
   * early once no node has a free slot, so a long queue costs nothing per event.
   */
  private async scheduleAll(): Promise<void> {
    await this.placeJobs(this.jobs.active(), true);
  }

  /** A pass of scheduleAll queued and not begun yet: later requests are served by it. */
  private rescheduling = false;

  /**
   * scheduleAll as a step of its own, once for any number of requests made before it begins.
   * Nodes arrive in crowds (a coordinator's start, a fleet's first boot, the end of a network
   * cut): one pass each would be a pass over every node per node - at 10,000 nodes, seconds of
   * microtasks during which no heartbeat is answered. Called from inside serial steps: never awaited.
   */
  private scheduleAllSoon(): void {
    if (this.rescheduling) return;
    this.rescheduling = true;
    void this.serial(() => {
      this.rescheduling = false;
      return this.scheduleAll();
    });
  }

  private async placeJobs(jobs: JobRecord[], stopWhenFull: boolean): Promise<void> {
    if (jobs.length === 0) return; // the views below cost a pass over every node
    const now = Date.now();
    const views = this.nodes.views(now, this.usageByNode());
    const runRootOf = (node: string): string => this.nodes.entries.get(node)?.record.runRoot ?? '';
    const todo: { job: JobRecord; effects: Effect[]; written: Promise<void> }[] = [];
    const fanout: FanoutPlacer = {
      targets: (labels) => fanoutTargets(labels, views),
      placeOn: (spec, node) => {
        const request = stageRequest(spec);
        const r = place({ node }, views, request);
        if (r.ok) book(views, r.node, request);
        return r;
      },
      gone: (node) => nodeGone(node, views),
    };
    for (const job of jobs) {
      if (stopWhenFull && !views.some((v) => v.state === 'ready' && !v.draining && !v.removed && v.running < v.slots)) break;
      const placer = (spec: StageSpec): PlacementResult => {
        const request = stageRequest(spec);
        const r = place(spec.on, views, request);
        if (r.ok) book(views, r.node, request);
        return r;
      };
      const { effects, written } = await this.apply(job, { kind: 'place', place: placer, runRootOf, fanout }, now);
      todo.push({ job, effects, written });
    }
    for (const { job, effects, written } of todo) this.carryOutWhenWritten(job, effects, written);
    // markers recorded before a restart, or whose first delivery is still to be made
    for (const job of jobs) for (const h of job.handoffs) if (!h.acked && !this.dispatch.handoffSent(job.id, h)) void this.sendHandoff(job, h);
  }

  /** Sends what the job machine asked for (after the record was persisted). */
  private carryOut(job: JobRecord, effects: readonly Effect[]): void {
    for (const e of effects) {
      if (e.type === 'start') void this.sendStart(e.token);
      else if (e.type === 'stop') this.dispatch.stops([e]);
      else if (!this.dispatch.handoffSent(job.id, e.handoff)) void this.sendHandoff(job, e.handoff);
    }
  }

  private async sendStart(token: RunToken): Promise<void> {
    const job = this.jobs.peek(token.job);
    const f = job && findAttempt(job, token);
    if (!job || !f || f.attempt.state !== 'starting') return;
    await this.dispatch.start(job, token, f.attempt.node);
  }

  private async sendHandoff(job: JobRecord, h: JobRecord['handoffs'][number]): Promise<void> {
    if (await this.dispatch.handoff(job.id, h)) await this.serial(() => this.apply(job, { kind: 'handoff-acked', handoff: h }));
  }

  private async sendPrune(job: JobRecord, node: string): Promise<void> {
    if (await this.dispatch.prune(job, node)) await this.serial(() => this.apply(job, { kind: 'pruned', node }));
  }

  // ---- heartbeats and liveness ----

  /** The labels enrollment bound a node to (its join token's), which win over what it advertises. */
  private boundLabels: ((node: string) => Labels | undefined) | undefined;
  private readonly labelWarned = new Set<string>();
  private readonly timingsWarned = new Set<string>();

  /**
   * Says once per node when its agent's timings break what failover relies on: runs fenced
   * before a node is declared down (lease + kill grace < --down-after), and agents holding
   * their runs while a standby takes over from a frozen leader (lease > --leader-lease plus a
   * heartbeat or two).
   */
  private checkTimings(hb: Heartbeat): void {
    if (hb.leaseMs === undefined || this.timingsWarned.has(hb.node)) return;
    const problems: string[] = [];
    const fenceBy = hb.leaseMs + (hb.killGraceMs ?? 0);
    if (fenceBy >= this.opts.downAfterMs) problems.push(`its --lease plus --kill-grace (${fenceBy} ms) is not below this coordinator's --down-after (${this.opts.downAfterMs} ms): a cut-off run may still be running when its stage is reassigned`);
    const leaderLeaseMs = this.opts.leaderLeaseMs ?? coordinatorDefaults.leaderLeaseMs;
    if (hb.leaseMs < leaderLeaseMs + TAKEOVER_SLACK_MS) problems.push(`its --lease (${hb.leaseMs} ms) is below --leader-lease plus ${TAKEOVER_SLACK_MS} ms (${leaderLeaseMs + TAKEOVER_SLACK_MS} ms): a frozen leader makes it fence its runs before a standby can take over`);
    this.timingsWarned.add(hb.node);
    if (problems.length) this.opts.log.warn('agent timings do not fit this coordinator\'s', { node: hb.node, problems });
  }

  bindLabels(fn: (node: string) => Labels | undefined): void {
    this.boundLabels = fn;
  }

  private onHeartbeat(msg: Msg): void {
    const parsed = decode(heartbeatSchema, msg.data);
    if (!parsed.ok) {
      this.opts.log.warn('invalid heartbeat ignored', { subject: msg.subject, errors: parsed.errors.slice(0, 5) });
      if (msg.reply) msg.respond(JSON.stringify({ ok: false, superseded: [], cancel: [], draining: false, hold: false, error: 'invalid heartbeat' } satisfies HeartbeatReply));
      return;
    }
    let hb = parsed.value;
    if (msg.subject !== Subjects.heartbeat(hb.node)) {
      this.opts.log.warn('heartbeat on another node\'s subject ignored', { subject: msg.subject, node: hb.node });
      return;
    }
    const bound = this.boundLabels?.(hb.node);
    if (bound && !sameLabels(bound, hb.labels)) {
      if (!this.labelWarned.has(hb.node)) this.opts.log.warn('node advertises other labels than its join token bound it to; placing by the token\'s', { node: hb.node, advertised: hb.labels, bound });
      this.labelWarned.add(hb.node);
      hb = { ...hb, labels: bound };
    }
    // not sure it still leads (paused past its lease): a reply from stale state could stop a
    // run the new leader placed
    if (this.leadership && !this.leadership.valid()) return;
    if (this.life.state === 'STARTING') {
      // just took the lead, state not loaded yet: the agent keeps its runs (see start())
      if (msg.reply) msg.respond(PLAIN_REPLY.hold);
      return;
    }
    if (this.life.state !== 'RUNNING') return; // stopping: no reply, agents see no responders and hold
    this.checkTimings(hb);
    const now = Date.now();
    const wasLive = this.nodes.entries.get(hb.node)?.leaseLive ?? false;
    const { entry, changed, persist, instanceChanged } = this.nodes.seen(hb, now);
    const reply: HeartbeatReply = { ok: true, superseded: [], cancel: [], draining: entry.record.draining, hold: false };
    for (const r of hb.runs) {
      if (r.state === 'exited') continue;
      // a job not held has ended: its runs are superseded, as for an unknown one
      const verdict = runVerdict(this.jobs.peek(r.token.job), r.token, hb.node);
      if (verdict === 'superseded') reply.superseded.push(r.token);
      else if (verdict === 'cancel') reply.cancel.push(r.token);
    }
    const plain = reply.superseded.length === 0 && reply.cancel.length === 0;
    if (msg.reply) msg.respond(plain ? (reply.draining ? PLAIN_REPLY.draining : PLAIN_REPLY.ready) : JSON.stringify(reply));
    const becameLive = !wasLive && entry.leaseLive;
    // The ordinary heartbeat (nothing new, the node ready and handled so) ends here: nothing for
    // the serial queue, which at 10,000 nodes would otherwise take 20,000 empty steps a second.
    // `handled` is read now, not in the queue: a sweep that marks the node suspect or down first
    // sets it before it awaits anything, so a heartbeat after that still goes to the queue.
    if (!persist && !instanceChanged && !becameLive && entry.handled === 'ready') return;
    void this.serial(async () => {
      if (persist) await this.persistNode(entry);
      if (changed && !instanceChanged) this.opts.log.info('node registered', { node: hb.node, labels: hb.labels, slots: hb.slots, allocatable: hb.allocatable });
      if (instanceChanged) await this.onNodeWiped(entry);
      const was = this.liveness.heard(entry);
      if (was === 'down') {
        this.opts.log.info('node back', { node: hb.node });
        // a stage waiting out a `failover: wait` on this node stops waiting; only a node
        // that was down has such stages, so an ordinary heartbeat scans no jobs
        for (const job of this.jobs.heldJobs()) await this.apply(job, { kind: 'node-back', node: hb.node }, now);
      }
      // a node whose lease just became live can take the work that waited for it
      if (changed || was !== 'ready' || becameLive) this.scheduleAllSoon();
    });
  }

  /**
   * nats-server reported that a node's agent closed its connection (the process ended: restart,
   * crash, kill -9). Its runs outlive it, so they are held for the restart grace instead of
   * failing over after the short silence; an agent that does not come back in time fails over.
   */
  nodeConnectionClosed(node: string): void {
    if (this.nodes.connectionClosed(node, Date.now())) this.opts.log.info('node agent connection closed; holding its runs for the restart grace', { node, restartGraceMs: this.opts.restartGraceMs ?? 30_000 });
  }

  /** The node came back with a new instance id (its state dir is gone): its runs are lost. */
  private async onNodeWiped(entry: NodeEntry): Promise<void> {
    this.opts.log.warn('node restarted with a new identity; its unreported runs are lost', { node: entry.record.name });
    await this.nodeLost(entry.record.name, 'the node lost its runner files', (t) => !entry.reported.has(tokenKey(t)));
  }

  /** Node lost (down, removed or wiped): each active attempt there follows its stage's failover policy. */
  private async nodeLost(node: string, why: string, only?: (t: RunToken) => boolean): Promise<void> {
    const now = Date.now();
    for (const job of this.jobs.heldJobs()) await this.apply(job, { kind: 'node-lost', node, why, only }, now);
  }

  /** Every SWEEP_MS: liveness, `failover: wait` deadlines, and re-sends of unanswered commands. */
  private async sweep(): Promise<void> {
    if (this.life.state !== 'RUNNING' || this.busAway) return;
    if (this.leadership && !this.leadership.valid()) return; // not sure it leads: act on nothing
    const now = Date.now();
    let reschedule = false;
    for (const c of this.liveness.sweep(now)) {
      if (c.to === 'down') await this.nodeLost(c.entry.record.name, `node ${c.entry.record.name} down`);
      if (c.from === 'down' || c.to === 'down') reschedule = true;
    }
    for (const job of this.jobs.heldJobs()) if ((await this.apply(job, { kind: 'wait-expired' }, now)).changed) reschedule = true;
    this.resend(now);
    if (reschedule) await this.scheduleAll();
    // a stage's retry delay is over (the time is in its record: a new leader finds it here too)
    else {
      const due = this.jobs.active().filter((j) => retryDue(j, now));
      if (due.length > 0) await this.placeJobs(due, false);
    }
  }

  /** Starts, handoff markers and prunes are delivered at least once, whenever the node is there. */
  private resend(now: number): void {
    const ready = (node: string): boolean => this.liveness.isReady(node, now);
    // a finished job owes nothing: only held ones can have something to send
    for (const job of this.jobs.heldJobs()) {
      // starts that got no answer are re-sent (agents de-duplicate by token)
      for (const { token, node } of startingAttempts(job)) {
        const entry = this.nodes.entries.get(node);
        if (!entry || !ready(node) || entry.reported.has(tokenKey(token))) continue;
        if (this.dispatch.startDue(token, now)) void this.sendStart(token);
      }
      for (const h of job.handoffs) if (!h.acked && ready(h.from.node) && this.dispatch.handoffDue(job.id, h, now)) void this.sendHandoff(job, h);
      for (const n of prunesDue(job)) if (ready(n) && this.dispatch.pruneDue(job.id, n, now)) void this.sendPrune(job, n);
    }
  }

  // ---- run events from agents ----

  /** Applies a run event in order; `durable` resolves once the change it made is stored (then it is acked). */
  private async applyRunEvent(ev: RunEvent): Promise<{ durable: Promise<void> }> {
    const done = { durable: Promise.resolve() };
    // a late report of a finished job's superseded run is still recorded: read from KV then
    const job = await this.jobs.get(ev.token.job);
    if (!job) {
      this.opts.log.warn('event for unknown job ignored', { token: tokenKey(ev.token), kind: ev.kind });
      return done;
    }
    // only the node that holds an attempt speaks for it (the event's subject named ev.node)
    const holder = findAttempt(job, ev.token)?.attempt.node;
    if (holder !== undefined && holder !== ev.node) {
      this.opts.log.warn('event from a node that does not hold the attempt ignored', { token: tokenKey(ev.token), kind: ev.kind, node: ev.node, holder });
      return done;
    }
    if (ev.kind === 'exited' && ev.artifacts && ev.artifacts.object !== artifactObject(ev.token)) {
      // the blob service stores a run's artifacts under this one name; any other is not theirs
      this.opts.log.warn('artifacts reference to another object dropped', { token: tokenKey(ev.token), object: ev.artifacts.object });
      ev = { ...ev, artifacts: null };
    }
    const event: JobEvent =
      ev.kind === 'started'
        ? { kind: 'started', token: ev.token, startedAt: ev.startedAt }
        : ev.kind === 'exited'
          ? { kind: 'exited', token: ev.token, report: ev }
          : { kind: 'rejected', token: ev.token, reason: ev.reason };
    const { changed, written } = await this.apply(job, event);
    // Nothing new - but acked only once the record holds it: the event may be a redelivery of
    // one applied in memory whose write was refused (a lead not confirmed while the bus stalled).
    // Acking it then lost the exit: a coordinator started after that read the run as still
    // running, and its stage ran again elsewhere (chaos soak). persist() writes only a record
    // that differs from the one stored.
    if (!changed) return { durable: this.jobs.persist(job) };
    for (const fn of this.runEventObservers) fn(ev);
    if (ev.kind === 'exited') this.opts.log.info('run ended', { token: tokenKey(ev.token), exitCode: ev.exitCode, stopReason: ev.stopReason, vanished: ev.vanished });
    await this.schedule(job);
    // a run that ended freed a slot: placed now, not at a heartbeat or the sweep
    if (ev.kind !== 'started') await this.scheduleAll();
    return { durable: written };
  }
}
