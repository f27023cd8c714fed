// A simulated fleet on one coordinator: for 1,000, 5,000 and 10,000 nodes heartbeating at the
// agent's default interval, the coordinator's CPU (% of one core) and RSS, the simulator's own
// CPU (did it keep up), heartbeat reply latency, and nodes that flapped (reported suspect or
// down) - goal 0. At the largest fleet also `meshrun nodes` wall time. A fresh nats-server and
// coordinator per size, so each RSS is that fleet's alone.
//
// Simplified: the nodes speak through one simulator connection with one credential that may
// publish any node's heartbeat subject (and read its own replies), not 10,000 connections with
// a credential each. The coordinator sees the same messages on the same subjects through the
// same TLS server; what is left out is nats-server's per-connection work, which on a 2-core
// machine would otherwise compete with the coordinator for the cores it is measured on.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { agentDefaults } from '../agent/defaults.js';
import { issueUser } from '../lib/trust/nats-jwt.js';
import { loadNatsTrust } from '../lib/trust/trust-root.js';
import { Subjects } from '../proto/subjects.js';
import { procCpuSeconds } from './baseline.js';
import { BenchFleet, sleep } from './dispatch.js';
import { SIM_INBOX_PREFIX, type SimCommand, type SimMessage, type SimStats } from './fleet-protocol.js';
import { percentile, row, type BenchContext, type Row, type Section } from './report.js';

const SIZES = (process.env.MESHRUN_BENCH_FLEET_SIZES ?? '1000,5000,10000').split(',').map(Number);
const WARMUP_S = Number(process.env.MESHRUN_BENCH_FLEET_WARMUP_S ?? 5);
const WINDOW_S = Number(process.env.MESHRUN_BENCH_FLEET_WINDOW_S ?? 10);
const NODES_CLI_RUNS = 5;
const RTT_SAMPLES = 500;
/** A directory: the coordinator (one profile and its log per fleet size) and `meshrun nodes` run with `--cpu-prof` and write their profiles there. */
const PROFILE_DIR = process.env.MESHRUN_BENCH_FLEET_PROF;

/** What one window measured on one fleet. */
interface Sample {
  cpuPct: number;
  rssMb: number;
  simCpuPct: number;
  natsCpuPct: number;
  sim: SimStats;
  flapped: string[];
  /** The machine's 1-minute load average at the window's end: other work on the same 2 cores shows here. */
  loadAvg: string;
}

export const fleetSection: Section = {
  name: 'fleet',
  async run(ctx: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    let failed = 0;
    let idle: { cpuPct: number; rssMb: number; rtt: { p50: number; p99: number } } | undefined;
    for (const n of SIZES) {
      ctx.progress(`fleet: ${n} simulated nodes heartbeating every ${agentDefaults.heartbeatMs} ms (warm-up ${WARMUP_S} s, window ${WINDOW_S} s)`);
      const prof = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `coordinator-${n}.cpuprofile`] : [];
      if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
      const label = n.toLocaleString('en-US');
      const fleet = await BenchFleet.start(ctx.root, [], [], prof);
      try {
        // same-run references, on the first fleet: a coordinator with no node, and a bare request/reply on this server
        idle ??= { ...(await measureIdle(fleet)), rtt: await natsRoundTrip(fleet) };
        const s = await measureFleet(ctx, fleet, n);
        rows.push(
          row(`${label} nodes: coordinator CPU, % of one core (${WINDOW_S} s window)`, s.cpuPct, '%', idle.cpuPct, `vs the coordinator with no node; goal < 50 % at 10,000; load average ${s.loadAvg}`),
          row(`  coordinator RSS`, s.rssMb, 'MB', idle.rssMb, 'vs the coordinator with no node'),
          row(`  coordinator CPU per heartbeat answered`, s.sim.answered > 0 ? ((s.cpuPct / 100) * s.sim.windowMs * 1000) / s.sim.answered : NaN, 'µs'),
          row(`  simulator CPU, % of one core`, s.simCpuPct, '%', undefined, `sent ${s.sim.sent} of ${Math.round((n * s.sim.windowMs) / agentDefaults.heartbeatMs)} due, answered ${s.sim.answered}, unanswered ${s.sim.failed + s.sim.refused}, skipped ${s.sim.skipped}, max lag ${Math.round(s.sim.maxLagMs)} ms, loop stall ${Math.round(s.sim.loopDelayMaxMs)} ms`),
          row(`  nats-server CPU, % of one core`, s.natsCpuPct, '%', undefined, 'info: the third process on the same cores'),
          row(`  heartbeat reply p50`, s.sim.p50Ms, 'ms', idle.rtt.p50, 'vs a bare NATS request/reply p50 on this server'),
          row(`  heartbeat reply p99`, s.sim.p99Ms, 'ms', idle.rtt.p99, 'vs a bare NATS request/reply p99'),
          row(`  nodes reported suspect or down`, s.flapped.length, `of ${n}`, undefined, `goal 0${s.flapped.length ? `: ${s.flapped.slice(0, 3).join(', ')}${s.flapped.length > 3 ? ', ...' : ''}` : ''}; one credential for all simulated nodes`),
        );
        if (n === Math.max(...SIZES)) {
          const name = `meshrun nodes --json at ${label} nodes, wall p50 (n=${NODES_CLI_RUNS})`;
          try {
            const ms = await nodesCliWall(ctx, fleet, n);
            rows.push(row(name, percentile(ms, 50), 'ms', ctx.baseline.nodeP50Ms, "vs node -e ''"));
            rows.push(row(`  max`, Math.max(...ms), 'ms'));
          } catch (err) {
            rows.push(row(name, NaN, 'ms', undefined, `FAILED: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`));
          }
        }
        if (PROFILE_DIR) {
          await fleet.stop('coordinator', 60_000);
          copyFileSync(join(fleet.dir, 'coordinator.log'), join(PROFILE_DIR, `coordinator-${n}.log`));
        }
      } catch (err) {
        // the other sizes still count: this one is a row saying what went wrong
        const msg = (err as Error).message;
        ctx.progress(`fleet: ${n} nodes FAILED: ${msg}\n${fleet.logTails(1500)}`);
        rows.push(row(`${label} nodes: FAILED`, NaN, '', undefined, msg.split('\n')[0]!.slice(0, 200)));
        failed++;
      } finally {
        await fleet.destroy();
      }
    }
    if (failed === SIZES.length) throw new Error('every fleet size failed (see above)');
    return rows;
  },
};

/** The coordinator with no node at all, over a short window: the floor under every fleet figure. */
async function measureIdle(fleet: BenchFleet): Promise<{ cpuPct: number; rssMb: number }> {
  const pid = fleet.children.get('coordinator')!.pid!;
  await sleep(1000);
  const w = cpuWindow([pid]);
  await sleep(5000);
  return { cpuPct: w()[0]!, rssMb: rssMb(pid) };
}

/** Sequential request/reply through the fleet's nats-server to a responder that answers at once. */
async function natsRoundTrip(fleet: BenchFleet): Promise<{ p50: number; p99: number }> {
  const nc = await fleet.natsConnect();
  try {
    const subject = 'mr.bench.echo';
    nc.subscribe(subject, {
      callback: (_err, msg) => {
        msg.respond(msg.data);
      },
    });
    await nc.flush();
    const lat: number[] = [];
    for (let i = 0; i < RTT_SAMPLES + 50; i++) {
      const t0 = performance.now();
      await nc.request(subject, '{}', { timeout: 2000 });
      if (i >= 50) lat.push(performance.now() - t0);
    }
    return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
  } finally {
    await nc.close();
  }
}

async function measureFleet(ctx: BenchContext, fleet: BenchFleet, n: number): Promise<Sample> {
  const coordinator = fleet.children.get('coordinator')!.pid!;
  const sim = await startSimulator(fleet, n);
  const ask = simChannel(sim);
  // registration: every node listed and ready
  const deadline = Date.now() + 90_000;
  for (;;) {
    const nodes = await fleet.client.listNodes();
    const ready = nodes.filter((x) => x.state === 'ready').length;
    if (ready === n) break;
    if (Date.now() > deadline) throw new Error(`only ${ready} of ${n} simulated nodes ready after 90 s`);
    await sleep(1000);
  }
  ctx.progress(`fleet: ${n} nodes ready; warming up`);
  await sleep(WARMUP_S * 1000);
  const log = join(fleet.dir, 'coordinator.log');
  const logFrom = statSync(log).size;
  sim.send({ cmd: 'window' } satisfies SimCommand);
  const w = cpuWindow([coordinator, sim.pid!, fleet.nats!.pid!]);
  await sleep(WINDOW_S * 1000);
  const [cpuPct, simCpuPct, natsCpuPct] = w();
  const rss = rssMb(coordinator);
  const stats = await ask({ cmd: 'report' });
  // flapping: what the coordinator logged about liveness in the window, and how it lists the nodes now
  const flapped = new Set(flapsLogged(log, logFrom));
  for (const x of await fleet.client.listNodes()) if (x.state !== 'ready') flapped.add(x.name);
  return { loadAvg: loadavg()[0]!.toFixed(1), cpuPct: cpuPct!, rssMb: rss, simCpuPct: simCpuPct!, natsCpuPct: natsCpuPct!, sim: stats, flapped: [...flapped].sort() };
}

/** The simulator: its own credential (any node's heartbeat subject, its own replies), forked with IPC. */
async function startSimulator(fleet: BenchFleet, n: number): Promise<ChildProcess> {
  const p = fleet.trust.paths;
  const creds = join(fleet.dir, 'creds', 'fleet-sim.creds');
  const { creds: bytes } = await issueUser(loadNatsTrust(p.dir), 'fleet-sim', { pub: { allow: [Subjects.heartbeatWildcard] }, sub: { allow: [`${SIM_INBOX_PREFIX}.>`] } });
  mkdirSync(join(fleet.dir, 'creds'), { recursive: true, mode: 0o700 });
  writeFileSync(creds, bytes, { mode: 0o600 });
  const fd = openSync(join(fleet.dir, 'fleet-sim.log'), 'a');
  const sim = fork(join(fleet.root, 'dist', 'bench', 'fleet-sim.js'), [], {
    stdio: ['ignore', fd, fd, 'ipc'],
    env: { ...process.env, SIM_NATS: fleet.nats!.url, SIM_CREDS: creds, SIM_CA: p.caCert, SIM_NODES: String(n), SIM_HEARTBEAT_MS: String(agentDefaults.heartbeatMs) },
  });
  closeSync(fd);
  // torn down with the fleet, on failure and on Ctrl-C too
  fleet.children.set('fleet-sim', sim);
  await new Promise<void>((resolve, reject) => {
    sim.once('message', (m: SimMessage) => (m.type === 'ready' ? resolve() : reject(new Error(`simulator: ${m.type === 'error' ? m.message : m.type}`))));
    sim.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  });
  return sim;
}

/** Asks the simulator for its report. */
function simChannel(sim: ChildProcess): (c: SimCommand) => Promise<SimStats> {
  return (c) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('simulator did not report within 10 s')), 10_000);
      sim.once('message', (m: SimMessage) => {
        clearTimeout(t);
        if (m.type === 'report') resolve(m.stats);
        else reject(new Error(`simulator: ${m.type === 'error' ? m.message : m.type}`));
      });
      sim.send(c);
    });
}

/** Starts a CPU window over these processes; the returned function ends it: % of one core each. */
function cpuWindow(pids: number[]): () => number[] {
  const t0 = performance.now();
  const c0 = pids.map((p) => procCpuSeconds(p) ?? NaN);
  return () => {
    const s = (performance.now() - t0) / 1000;
    return pids.map((p, i) => (((procCpuSeconds(p) ?? NaN) - c0[i]!) / s) * 100);
  };
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Nodes the coordinator logged as suspect or down after byte `from` of its log. */
function flapsLogged(log: string, from: number): string[] {
  const text = readFileSync(log).subarray(from).toString('utf8');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!/"msg":"node (suspect|down)"/.test(line)) continue;
    const m = /"node":"([^"]+)"/.exec(line);
    if (m) out.add(m[1]!);
  }
  return [...out];
}

/** `meshrun nodes --json` as an operator runs it: a fresh CLI process each time, wall time to exit. */
async function nodesCliWall(ctx: BenchContext, fleet: BenchFleet, n: number): Promise<number[]> {
  ctx.progress(`fleet: ${NODES_CLI_RUNS} x meshrun nodes --json at ${n} nodes`);
  const ms: number[] = [];
  for (let i = 0; i < NODES_CLI_RUNS; i++) {
    const t0 = performance.now();
    const out = await new Promise<string>((resolve, reject) => {
      const prof = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `nodes-cli-${n}-${i}.cpuprofile`] : [];
      const c = spawn(process.execPath, [...prof, join(fleet.root, 'bin', 'meshrun.js'), '--coordinator', fleet.address, 'nodes', '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, MESHRUN_CONFIG: fleet.trust.paths.adminConfig },
      });
      const chunks: Buffer[] = [];
      let err = '';
      c.stdout.on('data', (b: Buffer) => chunks.push(b));
      c.stderr.on('data', (b: Buffer) => (err += b.toString()));
      c.once('error', reject);
      c.once('exit', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`meshrun nodes exited ${code}: ${err.trim()}`))));
    });
    ms.push(performance.now() - t0);
    const listed = (JSON.parse(out) as unknown[]).length;
    if (listed !== n) throw new Error(`meshrun nodes listed ${listed} nodes, expected ${n}`);
  }
  return ms;
}
