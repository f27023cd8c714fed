// One process standing in for a fleet of agents, for the bench's `fleet` section: N nodes,
// each heartbeating at the agent's interval with the agent's request/reply and message shape,
// the N heartbeats spread evenly over the interval. Driven over IPC by bench/fleet.ts; it
// reports reply latency and whether it kept to its schedule, so the reader sees whether a
// figure measures the coordinator or this simulator.
import { randomBytes } from 'node:crypto';
import { RequestError, type NatsConnection } from '@nats-io/transport-node';
import { agentDefaults } from '../agent/defaults.js';
import { heartbeatReplySchema, type Heartbeat } from '../proto/bus.js';
import { decode } from '../proto/decode.js';
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

class FleetSim {
  private nc!: NatsConnection;
  private readonly names: string[];
  private readonly instances: string[];
  private readonly inFlight: Uint8Array;
  private readonly leaseLive: Uint8Array;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private due = 0;
  private lat: number[] = [];
  private windowAt = 0;
  private counts = { sent: 0, answered: 0, failed: 0, noResponders: 0, skipped: 0, refused: 0, maxLagMs: 0 };

  constructor(private readonly o: SimOptions) {
    this.names = Array.from({ length: o.nodes }, (_, i) => simNodeName(i));
    this.instances = this.names.map(() => randomBytes(8).toString('hex'));
    this.inFlight = new Uint8Array(o.nodes);
    this.leaseLive = new Uint8Array(o.nodes);
  }

  async start(): Promise<void> {
    this.nc = await connectNats({ servers: this.o.nats, name: 'meshrun-fleet-sim', log: silentLogger, credsFile: this.o.credsFile, caFile: this.o.caFile, inboxPrefix: SIM_INBOX_PREFIX, waitOnFirstConnect: false });
    this.t0 = performance.now();
    this.windowAt = this.t0;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Sends every heartbeat whose slot has come: node i at t0 + i*interval/N + k*interval. */
  private tick(): void {
    const { nodes, heartbeatMs } = this.o;
    const now = performance.now();
    const target = Math.floor(((now - this.t0) * nodes) / heartbeatMs);
    // how late the oldest heartbeat still to send is (one tick of lateness is the schedule's grain)
    if (this.due < target) this.counts.maxLagMs = Math.max(this.counts.maxLagMs, now - (this.t0 + ((this.due + 1) * heartbeatMs) / nodes) - TICK_MS);
    while (this.due < target) {
      this.send(this.due % nodes);
      this.due++;
    }
  }

  private send(i: number): void {
    if (this.inFlight[i]! >= MAX_IN_FLIGHT) {
      this.counts.skipped++;
      return;
    }
    this.inFlight[i]!++;
    this.counts.sent++;
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
    const at = performance.now();
    this.nc.request(Subjects.heartbeat(name), JSON.stringify(hb), { timeout: Math.max(1000, this.o.heartbeatMs * 2) }).then(
      (msg) => {
        this.inFlight[i]!--;
        const ms = performance.now() - at;
        const r = decode(heartbeatReplySchema, msg.data);
        if (!r.ok || !r.value.ok) {
          this.counts.refused++;
          return;
        }
        this.counts.answered++;
        this.leaseLive[i] = 1;
        this.lat.push(ms);
      },
      (err: unknown) => {
        this.inFlight[i]!--;
        if (err instanceof RequestError && err.isNoResponders()) this.counts.noResponders++;
        else this.counts.failed++;
      },
    );
  }

  /** Starts a measuring window: counters and latencies from now on. */
  window(): void {
    this.windowAt = performance.now();
    this.lat = [];
    this.counts = { sent: 0, answered: 0, failed: 0, noResponders: 0, skipped: 0, refused: 0, maxLagMs: 0 };
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
      nodesAnswered,
    };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.nc?.close().catch(() => undefined);
  }
}

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
