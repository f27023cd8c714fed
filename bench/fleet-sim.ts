// One process standing in for a fleet of agents, for the bench's `fleet` section: N nodes,
// each heartbeating at the agent's interval with the agent's request/reply and message shape,
// the N heartbeats spread evenly over the interval. Driven over IPC by bench/fleet.ts; it
// reports reply latency and whether it kept to its schedule, so the reader sees whether a
// figure measures the coordinator or this simulator.
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import { agentDefaults } from '../agent/defaults.js';
import type { Heartbeat } from '../proto/bus.js';
import { Subjects } from '../proto/subjects.js';
import { silentLogger } from '../lib/log.js';
import { connectNats } from '../lib/nats.js';
import { VERSION } from '../lib/version.js';
import { SIM_INBOX_PREFIX, type SimCommand, type SimMessage, type SimStats } from './fleet-protocol.js';
import { percentile } from './report.js';

const MAX_IN_FLIGHT = 3; // agent/lease.ts MAX_HEARTBEATS_IN_FLIGHT
const TICK_MS = 5;

export interface SimOptions {
  nats: string;
  credsFile: string;
  caFile: string;
  nodes: number;
  heartbeatMs: number;
}

export function simNodeName(i: number): string {
  return `sim-${String(i).padStart(5, '0')}`;
}

/** Requests that may be unanswered at once, all nodes together (3 per node at 10,000 fit). */
const RING = 1 << 16;

/**
 * Each heartbeat is published with a reply subject on one wildcard subscription of the
 * simulator's inbox: on the wire the request/reply an agent's `nc.request` makes (subject,
 * payload, reply inbox), without a promise and a timer per request - at 20,000 heartbeats a
 * second those would make the simulator, not the coordinator, the figure. Unanswered requests
 * time out as the agent's do (twice the interval, at least 1 s), swept in send order.
 */
class FleetSim {
  private nc!: NatsConnection;
  private readonly names: string[];
  private readonly instances: string[];
  private readonly inFlight: Uint8Array;
  private readonly leaseLive: Uint8Array;
  private readonly timeoutMs: number;
  /** Per request seq (mod RING): the node, when it was sent, and whether it awaits its reply. */
  private readonly reqNode = new Int32Array(RING);
  private readonly reqAt = new Float64Array(RING);
  private readonly reqOpen = new Uint8Array(RING);
  private seq = 0;
  /** The oldest seq that may still be open. */
  private oldest = 0;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private due = 0;
  private lat: number[] = [];
  private windowAt = 0;
  private counts = { sent: 0, answered: 0, failed: 0, skipped: 0, refused: 0, maxLagMs: 0 };
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor(private readonly o: SimOptions) {
    this.names = Array.from({ length: o.nodes }, (_, i) => simNodeName(i));
    this.instances = this.names.map(() => randomBytes(8).toString('hex'));
    this.inFlight = new Uint8Array(o.nodes);
    this.leaseLive = new Uint8Array(o.nodes);
    this.timeoutMs = Math.max(1000, o.heartbeatMs * 2);
  }

  async start(): Promise<void> {
    this.nc = await connectNats({ servers: this.o.nats, name: 'meshrun-fleet-sim', log: silentLogger, credsFile: this.o.credsFile, caFile: this.o.caFile, inboxPrefix: SIM_INBOX_PREFIX, waitOnFirstConnect: false });
    const prefix = `${SIM_INBOX_PREFIX}.r.`;
    this.nc.subscribe(`${prefix}*`, {
      callback: (err, msg) => {
        if (!err) this.onReply(Number(msg.subject.slice(prefix.length)), msg.data);
      },
    });
    await this.nc.flush();
    this.loopDelay.enable();
    this.t0 = performance.now();
    this.windowAt = this.t0;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Sends every heartbeat whose slot has come (node i at t0 + i*interval/N + k*interval); times out old requests. */
  private tick(): void {
    const { nodes, heartbeatMs } = this.o;
    const now = performance.now();
    while (this.oldest < this.seq && (!this.reqOpen[this.oldest % RING] || now - this.reqAt[this.oldest % RING]! > this.timeoutMs)) {
      const k = this.oldest % RING;
      if (this.reqOpen[k]) {
        this.reqOpen[k] = 0;
        this.inFlight[this.reqNode[k]!]!--;
        this.counts.failed++;
      }
      this.oldest++;
    }
    const target = Math.floor(((now - this.t0) * nodes) / heartbeatMs);
    // how late the oldest heartbeat still to send is (one tick of lateness is the schedule's grain)
    if (this.due < target) this.counts.maxLagMs = Math.max(this.counts.maxLagMs, now - (this.t0 + ((this.due + 1) * heartbeatMs) / nodes) - TICK_MS);
    while (this.due < target) {
      this.send(this.due % nodes, now);
      this.due++;
    }
  }

  private send(i: number, now: number): void {
    if (this.inFlight[i]! >= MAX_IN_FLIGHT || this.seq - this.oldest >= RING) {
      this.counts.skipped++;
      return;
    }
    this.inFlight[i]!++;
    this.counts.sent++;
    const seq = this.seq++;
    const k = seq % RING;
    this.reqNode[k] = i;
    this.reqAt[k] = now;
    this.reqOpen[k] = 1;
    const name = this.names[i]!;
    // what a default agent (no mesh interface, no runs) sends, built fresh each time as it does
    const hb: Heartbeat = {
      node: name,
      instance: this.instances[i]!,
      labels: { fleet: 'sim' },
      slots: agentDefaults.slots,
      standby: agentDefaults.standby,
      version: VERSION,
      runs: [],
      sentAt: Date.now(),
      leaseLive: this.leaseLive[i] === 1,
      runRoot: `/var/lib/meshrun/agent/${name}/runs`,
    };
    this.nc.publish(Subjects.heartbeat(name), JSON.stringify(hb), { reply: `${SIM_INBOX_PREFIX}.r.${seq}` });
  }

  private onReply(seq: number, data: Uint8Array): void {
    const k = seq % RING;
    // a reply after its timeout (or to a slot reused since) counts as failed already
    if (!Number.isInteger(seq) || seq < this.oldest || seq >= this.seq || !this.reqOpen[k]) return;
    this.reqOpen[k] = 0;
    const i = this.reqNode[k]!;
    this.inFlight[i]!--;
    const ms = performance.now() - this.reqAt[k]!;
    let ok = false;
    try {
      ok = (JSON.parse(utf8.decode(data)) as { ok?: unknown }).ok === true;
    } catch {
      // not JSON: refused below
    }
    if (!ok) {
      this.counts.refused++;
      return;
    }
    this.counts.answered++;
    this.leaseLive[i] = 1;
    this.lat.push(ms);
  }

  /** Starts a measuring window: counters and latencies from now on. */
  window(): void {
    this.windowAt = performance.now();
    this.lat = [];
    this.counts = { sent: 0, answered: 0, failed: 0, skipped: 0, refused: 0, maxLagMs: 0 };
    this.loopDelay.reset();
  }

  report(): SimStats {
    let nodesAnswered = 0;
    for (const v of this.leaseLive) nodesAnswered += v;
    return {
      windowMs: performance.now() - this.windowAt,
      ...this.counts,
      p50Ms: percentile(this.lat, 50),
      p99Ms: percentile(this.lat, 99),
      maxMs: this.lat.reduce((m, v) => Math.max(m, v), 0),
      loopDelayMaxMs: this.loopDelay.max / 1e6,
      nodesAnswered,
    };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.loopDelay.disable();
    await this.nc?.close().catch(() => undefined);
  }
}

const utf8 = new TextDecoder();

function post(m: SimMessage): void {
  process.send?.(m);
}

async function main(): Promise<void> {
  const env = process.env;
  const sim = new FleetSim({
    nats: env.SIM_NATS ?? '',
    credsFile: env.SIM_CREDS ?? '',
    caFile: env.SIM_CA ?? '',
    nodes: Number(env.SIM_NODES),
    heartbeatMs: Number(env.SIM_HEARTBEAT_MS ?? agentDefaults.heartbeatMs),
  });
  process.on('message', (m: SimCommand) => {
    if (m.cmd === 'window') sim.window();
    else if (m.cmd === 'report') post({ type: 'report', stats: sim.report() });
    else void sim.stop().then(() => process.exit(0));
  });
  // the bench went away: so does the fleet it simulated
  process.on('disconnect', () => process.exit(0));
  await sim.start();
  post({ type: 'ready' });
}

main().catch((err: unknown) => {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
