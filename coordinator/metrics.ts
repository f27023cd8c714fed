// The coordinator's Prometheus metrics (prom-client): gauges read from its in-memory state when
// scraped, counters and histograms fed by the job records it persists and the run events it
// applies. Every label has a bounded set of values (states, outcomes, node names - the fleet).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunEvent } from '../proto/bus.js';
import type { MeshStatusMsg } from '../proto/mesh.js';
import { jobStateSchema, stageStateSchema, type JobRecord } from '../proto/records.js';
import { VERSION } from '../lib/version.js';
import type { Coordinator } from './coordinator.js';
import { toNodeMsg } from './grpc-server.js';
import { JobMetrics } from './job-metrics.js';

/** What the metrics read of the coordinator (a seam for tests; the Coordinator itself fits). */
export type MetricsSource = Pick<Coordinator, 'activeJobs' | 'changes' | 'nodes' | 'usageByNode' | 'leads' | 'leader' | 'observeRunEvents'>;

const NODE_STATES = ['ready', 'suspect', 'down', 'draining', 'drained'] as const;
const JOB_STATES = jobStateSchema.options;
const STAGE_STATES = stageStateSchema.options;
const ATTEMPT_OUTCOMES = ['succeeded', 'failed', 'cancelled', 'timeout', 'lost', 'stale'] as const;
const EDGE_HEALTH = ['ok', 'stale', 'never', 'unknown'] as const;
/** How often the leader lease's holder is looked at for changes (a scrape every 15 s would miss an A -> B -> A). */
const LEADER_POLL_MS = 1000;

/** Seconds: a trivial command starts in milliseconds; a stage waiting for a slot or a node, minutes. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const JOB_START_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Seconds: from a one-second command to a four-hour lab build. */
const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly jobMetrics: JobMetrics;
  private mesh: (() => MeshStatusMsg) | undefined;
  private leaderTimer: NodeJS.Timeout | undefined;
  private lastHolder: string | undefined;
  private readonly leaderChanges: Counter;
  private readonly fencings: Counter<'by'>;
  /** The nodes as this scrape sees them, read once for the gauges that need them (usage walks every held job). */
  private nodes: NodeSummary[] | undefined;
  private readonly onJob = (job: JobRecord): void => this.jobMetrics.observe(job);
  private readonly onLoaded = (jobs: JobRecord[]): void => this.jobMetrics.prime(jobs);

  constructor(private readonly c: MetricsSource) {
    const registers = [this.registry];
    // the process's own (cpu, memory, event loop lag, handles) under their usual names, so stock Node.js dashboards work
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'meshrun_info', help: 'Always 1; the meshrun version of this coordinator as a label.', labelNames: ['version'], registers }).set({ version: VERSION }, 1);

    const jobsTotal = new Counter({ name: 'meshrun_jobs_total', help: 'Jobs that ended, by their final state, since this coordinator took the lead.', labelNames: ['state'], registers });
    const stagesTotal = new Counter({ name: 'meshrun_stages_total', help: 'Stages that ended, by their final state (skipped included).', labelNames: ['state'], registers });
    const attemptsTotal = new Counter({ name: 'meshrun_attempts_total', help: 'Attempts (runs) that ended, by outcome; stale = superseded by a later attempt.', labelNames: ['outcome'], registers });
    const failovers = new Counter({ name: 'meshrun_failovers_total', help: 'Attempts given up because their node was lost or fenced them: reassigned to another attempt, or lost (failover: fail).', labelNames: ['outcome'], registers });
    this.fencings = new Counter({ name: 'meshrun_fencings_total', help: 'Runs stopped by fencing: by the agent itself after its lease ran out (agent), or a superseded run stopped on the coordinator\'s word (coordinator).', labelNames: ['by'], registers });
    this.leaderChanges = new Counter({ name: 'meshrun_leader_changes_total', help: 'Changes of the coordinator holding the leader lease that this coordinator saw (its own takeover included).', registers });
    for (const state of JOB_STATES.filter((s) => s !== 'queued' && s !== 'running')) jobsTotal.inc({ state }, 0);
    for (const state of STAGE_STATES.filter((s) => s !== 'queued' && s !== 'running')) stagesTotal.inc({ state }, 0);
    for (const outcome of ATTEMPT_OUTCOMES) attemptsTotal.inc({ outcome }, 0);
    for (const outcome of ['reassigned', 'lost']) failovers.inc({ outcome }, 0);
    for (const by of ['agent', 'coordinator']) this.fencings.inc({ by }, 0);

    this.jobMetrics = new JobMetrics({
      jobsTotal,
      stagesTotal,
      attemptsTotal,
      failovers,
      stageDuration: new Histogram({ name: 'meshrun_stage_duration_seconds', help: 'How long attempts ran, from the process start to its end, by outcome.', labelNames: ['outcome'], buckets: DURATION_BUCKETS, registers }),
      dispatchLatency: new Histogram({ name: 'meshrun_dispatch_latency_seconds', help: 'From an attempt\'s placement on a node to its process started there (the node\'s clock).', buckets: LATENCY_BUCKETS, registers }),
      jobStartLatency: new Histogram({ name: 'meshrun_job_start_latency_seconds', help: 'From a job\'s submission to the start of its first process (queueing for a node included).', buckets: JOB_START_BUCKETS, registers }),
    });

    const c0 = this.c;
    const self = this;
    new Gauge({
      name: 'meshrun_jobs',
      help: 'Jobs that have not ended, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const n = { queued: 0, running: 0 } as Record<string, number>;
        for (const j of c0.activeJobs()) n[j.state] = (n[j.state] ?? 0) + 1;
        for (const [state, v] of Object.entries(n)) this.set({ state }, v);
      },
    });
    new Gauge({
      name: 'meshrun_stages',
      help: 'Stages of the jobs that have not ended, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const n = Object.fromEntries(STAGE_STATES.map((s) => [s, 0])) as Record<string, number>;
        for (const j of c0.activeJobs()) for (const s of j.stages) n[s.state] = (n[s.state] ?? 0) + 1;
        for (const [state, v] of Object.entries(n)) this.set({ state }, v);
      },
    });
    new Gauge({
      name: 'meshrun_nodes',
      help: 'Registered nodes by state (as meshrun nodes shows them).',
      labelNames: ['state'],
      registers,
      collect() {
        const n = Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<string, number>;
        for (const m of self.nodeSummaries()) n[m.state] = (n[m.state] ?? 0) + 1;
        for (const [state, v] of Object.entries(n)) this.set({ state }, v);
      },
    });
    new Gauge({
      name: 'meshrun_node_up',
      help: 'Per node: 1 when it is ready (draining or drained included), 0 when suspect or down.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset(); // a removed node's series goes away
        for (const m of self.nodeSummaries()) this.set({ node: m.name }, m.state === 'suspect' || m.state === 'down' ? 0 : 1);
      },
    });
    new Gauge({
      name: 'meshrun_node_running',
      help: 'Per node: attempts placed there that have not ended.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const m of self.nodeSummaries()) this.set({ node: m.name }, m.running);
      },
    });
    const outboxGauge = (name: string, help: string, value: (o: { events: number; bytes: number; oldestAgeMs: number }) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['node'],
        registers,
        collect() {
          this.reset();
          for (const e of c0.nodes.entries.values()) if (!e.record.removed && e.outbox) this.set({ node: e.record.name }, value(e.outbox));
        },
      });
    };
    outboxGauge('meshrun_agent_outbox_events', 'Per node: run events in the agent\'s outbox not yet relayed to the bus (as its last heartbeat said).', (o) => o.events);
    outboxGauge('meshrun_agent_outbox_bytes', 'Per node: bytes of the agent\'s outbox not yet relayed.', (o) => o.bytes);
    outboxGauge('meshrun_agent_relay_lag_seconds', 'Per node: how long the oldest event in the agent\'s outbox has waited to be relayed (0: nothing waits).', (o) => o.oldestAgeMs / 1000);
    new Gauge({
      name: 'meshrun_leader',
      help: '1 while this coordinator holds the leader lease (a standby serves no metrics until it leads: docs/metrics.md).',
      registers,
      collect() {
        this.set(c0.leads ? 1 : 0);
      },
    });
    new Gauge({
      name: 'meshrun_mesh_edges',
      help: 'WireGuard mesh edges as the nodes report them (each direction counted), by health.',
      labelNames: ['health'],
      registers,
      collect() {
        const n = Object.fromEntries(EDGE_HEALTH.map((h) => [h, 0])) as Record<string, number>;
        for (const m of self.mesh?.().members ?? []) for (const e of m.edges) n[e.health] = (n[e.health] ?? 0) + 1;
        for (const [health, v] of Object.entries(n)) this.set({ health }, v);
      },
    });
    new Gauge({
      name: 'meshrun_mesh_nodes_out_of_sync',
      help: 'Mesh nodes whose applied WireGuard peers differ from what the coordinator wants them to have.',
      registers,
      collect() {
        this.set((self.mesh?.().members ?? []).filter((m) => m.kind === 'node' && !m.inSync).length);
      },
    });

    c.changes.on('job', this.onJob);
    c.changes.on('loaded', this.onLoaded);
    c.observeRunEvents((ev) => this.onRunEvent(ev));
    this.leaderTimer = setInterval(() => this.pollLeader(), LEADER_POLL_MS);
    this.leaderTimer.unref();
  }

  /** The mesh half, once it runs (it starts after the coordinator leads). */
  useMesh(status: () => MeshStatusMsg): void {
    this.mesh = status;
  }

  /** The exposition text and its content type, as Prometheus scrapes it. */
  async render(): Promise<{ contentType: string; body: string }> {
    this.pollLeader();
    this.nodes = nodeSummaries(this.c);
    try {
      return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    } finally {
      this.nodes = undefined;
    }
  }

  private nodeSummaries(): NodeSummary[] {
    return this.nodes ?? nodeSummaries(this.c);
  }

  close(): void {
    clearInterval(this.leaderTimer);
    this.c.changes.off('job', this.onJob);
    this.c.changes.off('loaded', this.onLoaded);
  }

  private onRunEvent(ev: RunEvent): void {
    if (ev.kind !== 'exited') return;
    if (ev.stopReason === 'fenced') this.fencings.inc({ by: 'agent' });
    else if (ev.stopReason === 'superseded') this.fencings.inc({ by: 'coordinator' });
  }

  private pollLeader(): void {
    const id = this.c.leader?.id;
    if (id === undefined) return;
    if (this.lastHolder !== undefined && id !== this.lastHolder) this.leaderChanges.inc();
    this.lastHolder = id;
  }
}

interface NodeSummary {
  name: string;
  state: string;
  running: number;
}

function nodeSummaries(c: MetricsSource): NodeSummary[] {
  const now = Date.now();
  const usages = c.usageByNode();
  const out: NodeSummary[] = [];
  for (const e of c.nodes.entries.values()) if (!e.record.removed) out.push(toNodeMsg(e, c as Coordinator, now, usages));
  return out;
}
