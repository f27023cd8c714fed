// The coordinator daemon: keeps the node registry from heartbeats, accepts jobs,
// places stages, dispatches runs to agents and applies their events. All state is
// in JetStream KV and written before acting, so a kill -9 at any point loses nothing.
import { EventEmitter } from 'node:events';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { createHash } from 'node:crypto';
import {
  commandReplySchema,
  heartbeatSchema,
  nodeRecordSchema,
  outboxRecordSchema,
  type AgentCommand,
  type HeartbeatReply,
  type RunEvent,
} from '../proto/bus.js';
import { dependenciesOf, jobSpecSchema, resolveFailover, type JobSpec } from '../proto/job-spec.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { isActiveAttempt, jobRecordSchema, type JobRecord } from '../proto/records.js';
import { Buckets, Durables, Streams, Subjects } from '../proto/subjects.js';
import { formatIssues } from '../proto/validation.js';
import { ErrorCode, InvalidInputError, MeshrunError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { connectNats, ensureStreams, openKv } from '../lib/nats.js';
import {
  activeAttemptsOn,
  advance,
  applyExited,
  applyStarted,
  currentAttempt,
  findAttempt,
  loseAttempt,
  newJobRecord,
  requestCancel,
  stageSpec,
  summarize,
  type StartIntent,
  type StopIntent,
} from './job-machine.js';
import { NodeRegistry, type NodeEntry } from './node-registry.js';
import { place } from './scheduler.js';
import { buildStartCommand } from './start-command.js';

export interface CoordinatorOptions {
  nats: string;
  /** @default 1500 */
  suspectAfterMs: number;
  /** @default 3500 */
  downAfterMs: number;
  log: Logger;
}

export type CoordinatorState = 'NEW' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED';

const RESEND_START_MS = 2000;

export class Coordinator {
  private state: CoordinatorState = 'NEW';
  private nc!: NatsConnection;
  private js!: JetStreamClient;
  private kvJobs!: KV;
  private kvNodes!: KV;
  private hbSub: Subscription | undefined;
  private events: ConsumerMessages | undefined;
  private timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private busAway = false;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly written = new Map<string, string>();
  private readonly startSentAt = new Map<string, number>();
  private readonly otherSentAt = new Map<string, number>();
  readonly nodes: NodeRegistry;
  /** Emits 'job' (JobRecord) after every persisted change. */
  readonly changes = new EventEmitter();

  constructor(private readonly opts: CoordinatorOptions) {
    this.nodes = new NodeRegistry({ suspectAfterMs: opts.suspectAfterMs, downAfterMs: opts.downAfterMs });
    this.changes.setMaxListeners(0);
  }

  get connection(): NatsConnection {
    return this.nc;
  }

  private setState(state: CoordinatorState): void {
    this.state = state;
    this.opts.log.info('coordinator state changed', { state });
  }

  async start(): Promise<void> {
    if (this.state !== 'NEW') return;
    this.setState('STARTING');
    this.nc = await connectNats({ servers: this.opts.nats, name: 'meshrun-coordinator', log: this.opts.log });
    void this.watchConnection();
    await ensureStreams(this.nc);
    this.js = jetstream(this.nc, { timeout: 5000 });
    this.kvJobs = await openKv(this.nc, Buckets.jobs);
    this.kvNodes = await openKv(this.nc, Buckets.nodes);
    await this.load();
    await this.startEventConsumer();
    this.timers.push(setInterval(() => void this.serial(() => this.monitor()), 250));
    this.setState('RUNNING');
    // Heartbeats are answered only from here on: until then agents see "no responders"
    // and hold their runs rather than fence them.
    this.nodes.refreshAll(Date.now());
    this.hbSub = this.nc.subscribe(Subjects.heartbeatWildcard, {
      callback: (err, msg) => {
        if (!err) this.onHeartbeat(msg);
      },
    });
    await this.serial(() => this.scheduleAll());
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.setState('STOPPING');
      for (const t of this.timers) clearInterval(t);
      try {
        this.hbSub?.unsubscribe();
        this.events?.stop();
        await this.queue.catch(() => undefined);
        await this.nc?.drain();
      } catch (err) {
        this.opts.log.warn('nats drain failed', { err });
      }
      this.setState('STOPPED');
    })();
    return this.closing;
  }

  /** Every state change runs one at a time, in order. */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch((err) => this.opts.log.error('coordinator step failed', { err }));
    return p;
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
    const now = Date.now();
    const nodeRecords = [];
    for await (const key of await this.kvNodes.keys()) {
      const e = await this.kvNodes.get(key);
      if (!e || e.operation !== 'PUT') continue;
      const r = nodeRecordSchema.safeParse(safeJson(e.string()));
      if (r.success) nodeRecords.push(r.data);
      else this.opts.log.warn('damaged node record skipped', { key, errors: formatIssues(r.error) });
    }
    this.nodes.load(nodeRecords, now);
    for await (const key of await this.kvJobs.keys()) {
      const e = await this.kvJobs.get(key);
      if (!e || e.operation !== 'PUT') continue;
      const r = jobRecordSchema.safeParse(safeJson(e.string()));
      if (!r.success) {
        this.opts.log.warn('damaged job record skipped', { key, errors: formatIssues(r.error) });
        continue;
      }
      this.jobs.set(r.data.id, r.data);
      this.written.set(r.data.id, JSON.stringify({ ...r.data, revision: 0 }));
    }
    this.opts.log.info('state loaded', { nodes: nodeRecords.length, jobs: this.jobs.size });
  }

  /** Writes the job to KV if it changed since the last write (compared without its revision). */
  private async persist(job: JobRecord): Promise<void> {
    const rev = job.revision;
    job.revision = 0;
    const key = JSON.stringify(job);
    job.revision = rev;
    if (this.written.get(job.id) === key) return;
    job.revision += 1;
    await this.kvJobs.put(job.id, JSON.stringify(job));
    this.written.set(job.id, key);
    this.changes.emit('job', job);
  }

  private async persistNode(e: NodeEntry): Promise<void> {
    await this.kvNodes.put(e.record.name, JSON.stringify(e.record));
  }

  // ---- client API (called by the gRPC server) ----

  async submit(id: string, specJson: string, workspace: string | null): Promise<{ job: JobRecord; created: boolean }> {
    let raw: unknown;
    try {
      raw = JSON.parse(specJson);
    } catch (err) {
      throw new InvalidInputError(`job spec is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = jobSpecSchema.safeParse(raw);
    if (!parsed.success) throw new InvalidInputError(formatIssues(parsed.error).join('; '));
    if (workspace) {
      const info = await (await this.objectStore()).info(`ws-${workspace}`);
      if (!info || info.deleted) throw new InvalidInputError(`workspace ${workspace.slice(0, 12)} is not stored: upload it first (meshrun submit --workspace DIR does)`);
    }
    return this.serial(async () => {
      const existing = this.jobs.get(id);
      if (existing) return { job: existing, created: false };
      const job = newJobRecord(id, parsed.data as JobSpec, Date.now(), workspace);
      this.jobs.set(id, job);
      await this.persist(job);
      this.opts.log.info('job submitted', { job: id, name: job.name, stages: job.stages.length });
      await this.schedule(job);
      return { job, created: true };
    });
  }

  getJob(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  listJobs(): JobRecord[] {
    return [...this.jobs.values()].sort((a, b) => a.submittedAt - b.submittedAt);
  }

  async cancel(id: string): Promise<JobRecord> {
    return this.serial(async () => {
      const job = this.jobs.get(id);
      if (!job) throw new MeshrunError(ErrorCode.NotFound, `no job ${id}`);
      const stops = requestCancel(job);
      await this.schedule(job);
      await this.scheduleAll();
      await this.persist(job);
      this.sendStops(stops);
      return job;
    });
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
      await this.failNodeRuns(name, `node ${name} was removed`, () => true);
      await this.scheduleAll();
      return true;
    });
  }

  private blobStore: Promise<ObjectStore> | undefined;
  private objectStore(): Promise<ObjectStore> {
    this.blobStore ??= new Objm(this.nc).create(Buckets.blobs);
    return this.blobStore;
  }

  /** Stores a workspace archive once by content hash (checked against the client's claim). */
  async putBlob(data: Buffer, claimed: string): Promise<{ sha256: string; size: number; existed: boolean }> {
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (claimed && claimed !== sha256) throw new InvalidInputError(`workspace upload damaged: content hash ${sha256.slice(0, 12)}, expected ${claimed.slice(0, 12)}`);
    const os = await this.objectStore();
    const name = `ws-${sha256}`;
    const info = await os.info(name);
    if (info && !info.deleted) return { sha256, size: data.length, existed: true };
    await os.putBlob({ name }, data);
    this.opts.log.info('workspace stored', { sha256, bytes: data.length });
    return { sha256, size: data.length, existed: false };
  }

  async getBlob(name: string): Promise<Buffer | undefined> {
    const os = await this.objectStore();
    const data = await os.getBlob(name);
    return data ? Buffer.from(data) : undefined;
  }

  runningByNode(): Map<string, number> {
    const m = new Map<string, number>();
    for (const job of this.jobs.values()) {
      if (job.endedAt !== null) continue;
      for (const s of job.stages) {
        const a = currentAttempt(s);
        if (a && isActiveAttempt(a.state)) m.set(a.node, (m.get(a.node) ?? 0) + 1);
      }
    }
    return m;
  }

  // ---- scheduling ----

  /** Advances one job (its dependencies, cancel, placement) and sends its starts. */
  private async schedule(job: JobRecord): Promise<void> {
    await this.advanceJobs([job], false);
  }

  /**
   * Capacity or the fleet changed: give waiting jobs a chance, oldest first. Stops
   * early once no node has a free slot, so a long queue costs nothing per event.
   */
  private async scheduleAll(): Promise<void> {
    await this.advanceJobs(this.listJobs().filter((j) => j.endedAt === null), true);
  }

  private async advanceJobs(jobs: JobRecord[], stopWhenFull: boolean): Promise<void> {
    const now = Date.now();
    const views = this.nodes.views(now, this.runningByNode());
    const starts: StartIntent[] = [];
    for (const job of jobs) {
      if (stopWhenFull && !views.some((v) => v.state === 'ready' && !v.draining && !v.removed && v.running < v.slots)) break;
      const s = advance(job, now, (spec) => {
        const r = place(spec.on, views);
        if (r.ok) views.find((v) => v.name === r.node)!.running += 1;
        return r;
      });
      for (const x of s) this.recordHandoffs(job, x, now);
      await this.persist(job);
      starts.push(...s);
    }
    for (const s of starts) void this.sendStart(s.token);
    for (const job of jobs) for (const h of job.handoffs) if (!h.acked && !this.otherSentAt.has(handoffKey(job, h))) void this.sendHandoff(job, h);
  }

  private async sendStart(token: RunToken): Promise<void> {
    const job = this.jobs.get(token.job);
    const f = job && findAttempt(job, token);
    if (!job || !f || f.attempt.state !== 'starting') return;
    this.startSentAt.set(tokenKey(token), Date.now());
    const cmd = buildStartCommand(job, stageSpec(job, token.stage), token);
    await this.command(f.attempt.node, cmd);
  }

  private sendStops(stops: StopIntent[]): void {
    for (const s of stops) void this.command(s.node, { type: 'stop', token: s.token, reason: s.reason });
  }

  private async command(node: string, cmd: AgentCommand): Promise<boolean> {
    try {
      const msg = await this.nc.request(Subjects.agentCommand(node), JSON.stringify(cmd), { timeout: 2000 });
      const r = commandReplySchema.safeParse(safeJson(msg.data));
      const ok = r.success && r.data.ok;
      if (!ok) this.opts.log.warn('agent refused command', { node, type: cmd.type, error: r.success ? r.data.error : 'malformed reply' });
      return ok;
    } catch (err) {
      // retried by the monitor (starts, handoffs, prunes) or the heartbeat reply (stops)
      this.opts.log.debug('command not delivered', { node, type: cmd.type, err });
      return false;
    }
  }

  /** Records where the job moves next and tells the earlier nodes (their <stem>.remote.env). */
  private recordHandoffs(job: JobRecord, s: StartIntent, now: number): void {
    const deps = dependenciesOf(job.spec.stages).get(s.token.stage) ?? [];
    const runRoot = this.nodes.entries.get(s.node)?.record.runRoot ?? '';
    const runDir = runRoot ? `${runRoot}/${job.id}` : '';
    for (const d of deps) {
      const from = currentAttempt(job.stages.find((x) => x.name === d)!);
      if (!from || from.node === s.node || from.state === 'stale') continue;
      job.handoffs.push({
        from: { stage: d, attempt: from.attempt, node: from.node },
        to: { stage: s.token.stage, attempt: s.token.attempt, node: s.node, runDir, log: runDir ? `${runDir}/${s.token.stage}.${s.token.attempt}.log` : '' },
        at: now,
        acked: false,
      });
    }
  }

  private async sendHandoff(job: JobRecord, h: JobRecord['handoffs'][number]): Promise<void> {
    const key = `${job.id}/${h.from.stage}/${h.from.attempt}->${h.to.stage}/${h.to.attempt}`;
    this.otherSentAt.set(key, Date.now());
    const ok = await this.command(h.from.node, {
      type: 'handoff',
      token: { job: job.id, stage: h.from.stage, attempt: h.from.attempt },
      remote: { node: h.to.node, runDir: h.to.runDir, log: h.to.log, token: { job: job.id, stage: h.to.stage, attempt: h.to.attempt } },
    });
    if (ok)
      await this.serial(async () => {
        h.acked = true;
        await this.persist(job);
      });
  }

  private async sendPrune(job: JobRecord, node: string): Promise<void> {
    this.otherSentAt.set(`prune/${job.id}/${node}`, Date.now());
    const ok = await this.command(node, { type: 'prune', job: job.id, globs: job.spec.prune ?? [] });
    if (ok)
      await this.serial(async () => {
        if (!job.pruned.includes(node)) job.pruned.push(node);
        await this.persist(job);
      });
  }

  // ---- heartbeats and liveness ----

  private onHeartbeat(msg: Msg): void {
    const parsed = heartbeatSchema.safeParse(safeJson(msg.data));
    if (!parsed.success) {
      this.opts.log.warn('invalid heartbeat ignored', { subject: msg.subject, errors: formatIssues(parsed.error).slice(0, 5) });
      if (msg.reply) msg.respond(JSON.stringify({ ok: false, superseded: [], cancel: [], draining: false, error: 'invalid heartbeat' } satisfies HeartbeatReply));
      return;
    }
    const hb = parsed.data;
    if (msg.subject !== Subjects.heartbeat(hb.node)) {
      this.opts.log.warn('heartbeat on another node\'s subject ignored', { subject: msg.subject, node: hb.node });
      return;
    }
    if (this.state !== 'RUNNING') return; // stopping: no reply, agents see no responders and hold
    const now = Date.now();
    const { entry, changed, instanceChanged } = this.nodes.seen(hb, now);
    const reply: HeartbeatReply = { ok: true, superseded: [], cancel: [], draining: entry.record.draining };
    for (const r of hb.runs) {
      if (r.state === 'exited') continue;
      const job = this.jobs.get(r.token.job);
      const f = job && findAttempt(job, r.token);
      if (!job || !f || !isActiveAttempt(f.attempt.state) || f.attempt.node !== hb.node) reply.superseded.push(r.token);
      else if (f.attempt.stopRequested === 'cancelled') reply.cancel.push(r.token);
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
    void this.serial(async () => {
      if (changed) await this.persistNode(entry);
      if (changed && !instanceChanged) this.opts.log.info('node registered', { node: hb.node, labels: hb.labels, slots: hb.slots });
      if (instanceChanged) await this.onNodeWiped(entry);
      const was = entry.handled;
      entry.handled = 'ready';
      if (was === 'down') this.opts.log.info('node back', { node: hb.node });
      // a stage waiting out a `failover: wait` on this node stops waiting; only a node
      // that was down has such stages, so an ordinary heartbeat scans no jobs
      if (was === 'down') {
        for (const job of this.jobs.values()) {
          if (job.endedAt !== null) continue;
          for (const { stage } of activeAttemptsOn(job, hb.node)) {
            if (stage.nodeDownSince !== null) {
              stage.nodeDownSince = null;
              await this.persist(job);
            }
          }
        }
      }
      if (changed || was !== 'ready') await this.scheduleAll();
    });
  }

  /** The node came back with a new instance id (its state dir is gone): its runs are lost. */
  private async onNodeWiped(entry: NodeEntry): Promise<void> {
    this.opts.log.warn('node restarted with a new identity; its unreported runs are lost', { node: entry.record.name });
    await this.failNodeRuns(entry.record.name, 'the node lost its runner files', (key) => !entry.reported.has(key));
  }

  private async monitor(): Promise<void> {
    if (this.state !== 'RUNNING' || this.busAway) return;
    const now = Date.now();
    let reschedule = false;
    for (const e of this.nodes.entries.values()) {
      const live = this.nodes.liveness(e, now);
      if (live === e.handled) continue;
      const prev = e.handled;
      e.handled = live;
      if (live === 'suspect') this.opts.log.warn('node suspect', { node: e.record.name, silentMs: now - e.lastSeenAt });
      if (live === 'down') {
        this.opts.log.warn('node down', { node: e.record.name, silentMs: now - e.lastSeenAt });
        await this.failNodeRuns(e.record.name, `node ${e.record.name} down`, () => true);
      }
      if (prev === 'down' || live === 'down') reschedule = true;
    }
    // failover: wait -> reassign when the wait is over
    for (const job of this.jobs.values()) {
      if (job.endedAt !== null) continue;
      for (const stage of job.stages) {
        const a = currentAttempt(stage);
        if (stage.nodeDownSince === null || !a || !isActiveAttempt(a.state)) continue;
        const policy = resolveFailover(stageSpec(job, stage.name).failover);
        const waitMs = policy.mode === 'wait' ? policy.waitMs : 0;
        if (now - stage.nodeDownSince >= waitMs) {
          loseAttempt(job, stage, a, stageSpec(job, stage.name), `node ${a.node} did not come back within ${waitMs}ms`, now);
          await this.persist(job);
          reschedule = true;
        }
      }
    }
    // starts that got no answer are re-sent (agents de-duplicate by token)
    for (const job of this.jobs.values()) {
      if (job.endedAt !== null) continue;
      for (const stage of job.stages) {
        const a = currentAttempt(stage);
        if (!a || a.state !== 'starting') continue;
        const token = { job: job.id, stage: stage.name, attempt: a.attempt };
        const node = this.nodes.entries.get(a.node);
        if (!node || this.nodes.liveness(node, now) !== 'ready') continue;
        if (node.reported.has(tokenKey(token))) continue;
        if (now - (this.startSentAt.get(tokenKey(token)) ?? 0) >= RESEND_START_MS) void this.sendStart(token);
      }
    }
    this.resendHousekeeping(now);
    if (reschedule) await this.scheduleAll();
  }

  /** Handoff markers and prunes are delivered at least once, whenever the node is there. */
  private resendHousekeeping(now: number): void {
    const ready = (node: string): boolean => {
      const e = this.nodes.entries.get(node);
      return e !== undefined && this.nodes.liveness(e, now) === 'ready';
    };
    const due = (key: string): boolean => now - (this.otherSentAt.get(key) ?? 0) >= RESEND_START_MS;
    for (const job of this.jobs.values()) {
      for (const h of job.handoffs) if (!h.acked && ready(h.from.node) && due(handoffKey(job, h))) void this.sendHandoff(job, h);
      if (job.endedAt === null || !job.spec.prune?.length) continue;
      const nodes = new Set(job.stages.flatMap((s) => s.attempts.map((a) => a.node)));
      for (const n of nodes) if (!job.pruned.includes(n) && ready(n) && due(`prune/${job.id}/${n}`)) void this.sendPrune(job, n);
    }
  }

  /** Node lost (or wiped): each active attempt there follows its stage's failover policy. */
  private async failNodeRuns(node: string, why: string, which: (tokenKey: string) => boolean): Promise<void> {
    const now = Date.now();
    for (const job of this.jobs.values()) {
      if (job.endedAt !== null) continue;
      let changed = false;
      for (const { stage, attempt } of activeAttemptsOn(job, node)) {
        if (!which(`${job.id}/${stage.name}/${attempt.attempt}`)) continue;
        const spec = stageSpec(job, stage.name);
        const policy = resolveFailover(spec.failover);
        if (policy.mode === 'wait' && !job.cancelRequested) {
          stage.nodeDownSince ??= now;
          stage.reason = `node ${node} down; waiting up to ${policy.waitMs}ms for it to return`;
        } else {
          loseAttempt(job, stage, attempt, spec, why, now);
        }
        changed = true;
      }
      if (changed) {
        summarize(job, now);
        await this.persist(job);
      }
    }
  }

  // ---- run events from agents ----

  private async startEventConsumer(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    try {
      await jsm.consumers.info(Streams.events, Durables.coordinatorEvents);
    } catch {
      await jsm.consumers.add(Streams.events, {
        durable_name: Durables.coordinatorEvents,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: 30_000_000_000,
        max_ack_pending: 1000,
      });
    }
    const consumer = await this.js.consumers.get(Streams.events, Durables.coordinatorEvents);
    this.events = await consumer.consume({ max_messages: 200 });
    void (async () => {
      for await (const m of this.events!) {
        const rec = outboxRecordSchema.safeParse(safeJson(m.data));
        if (!rec.success) {
          this.opts.log.warn('invalid run event dropped', { subject: m.subject, errors: formatIssues(rec.error).slice(0, 5) });
          m.term();
          continue;
        }
        try {
          await this.serial(() => this.applyEvent(rec.data.event));
          m.ack();
        } catch (err) {
          this.opts.log.error('run event not applied; will be redelivered', { err });
          m.nak(1000);
        }
      }
    })().catch((err) => this.opts.log.error('event consumer stopped', { err }));
  }

  private async applyEvent(ev: RunEvent): Promise<void> {
    const job = this.jobs.get(ev.token.job);
    if (!job) {
      this.opts.log.warn('event for unknown job ignored', { token: tokenKey(ev.token), kind: ev.kind });
      return;
    }
    const now = Date.now();
    let changed = false;
    if (ev.kind === 'started') changed = applyStarted(job, ev.token, ev.startedAt);
    else if (ev.kind === 'exited') {
      changed = applyExited(job, ev.token, ev, now);
      if (changed) this.opts.log.info('run ended', { token: tokenKey(ev.token), exitCode: ev.exitCode, stopReason: ev.stopReason, vanished: ev.vanished });
    } else if (ev.kind === 'rejected') {
      const f = findAttempt(job, ev.token);
      if (f && isActiveAttempt(f.attempt.state)) {
        f.attempt.state = 'failed';
        f.attempt.reason = `agent rejected the run: ${ev.reason}`;
        f.stage.state = 'failed';
        f.stage.reason = f.attempt.reason;
        changed = true;
      }
    }
    if (!changed) return;
    summarize(job, now);
    await this.persist(job);
    await this.schedule(job);
    // a run that ended freed a slot
    if (ev.kind !== 'started') await this.scheduleAll();
  }
}

function handoffKey(job: JobRecord, h: JobRecord['handoffs'][number]): string {
  return `${job.id}/${h.from.stage}/${h.from.attempt}->${h.to.stage}/${h.to.attempt}`;
}

function safeJson(data: Uint8Array | string): unknown {
  try {
    return JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
