// Dispatch latency: how long from a client's Submit until the job's process is running on an
// agent (the wrapper's `startedAt` in the runner .json, same machine clock), and until the
// client sees the job terminal. Also the bench's fleet: real nats-server, coordinator and
// agents as child processes of bin/meshrun.js, torn down even on failure or Ctrl-C. It runs the
// secured setup users run (as test/harness does): a trust root, nats-server on its TLS/accounts
// config, a credential per agent, TLS and the admin's certificate for the client.
import { natsTls } from '../lib/nats.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { MeshrunClient } from '../cli/client.js';
import { resolveClientTarget } from '../cli/client-config.js';
import { NatsServer } from '../lib/nats-server.js';
import { freePort } from '../lib/free-port.js';
import { killRunsUnder } from '../lib/run-reaper.js';
import { issueNodeCreds, makeLocalTrust, type LocalTrust } from '../lib/trust/local-trust.js';
import type { JobMsg } from '../proto/grpc.js';
import { isTerminalJob, type JobState } from '../proto/records.js';
import { percentile, row, type BenchContext, type Row, type Section } from './report.js';

/** bench/ compiles to dist/bench/: the root is the first directory up with meshrun's package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'meshrun') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the meshrun repository root (package.json) above the bench');
    dir = up;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface AgentSpec {
  node: string;
  labels: string;
  slots: number;
  /** More `meshrun agent` flags. */
  extra?: string[];
  /** Flags for the agent's Node process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}

/** Fleets still alive; `destroyAllFleetsSync` (signal / exit path) kills whatever is left. */
const liveFleets = new Set<BenchFleet>();

export function destroyAllFleetsSync(): void {
  for (const f of liveFleets) f.destroySync();
}

export class BenchFleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'meshrun-bench-'));
  readonly children = new Map<string, ChildProcess>();
  trust!: LocalTrust;
  nats: NatsServer | undefined;
  client!: MeshrunClient;
  address = '';
  private destroyed = false;

  private constructor(
    readonly root: string,
    readonly agents: AgentSpec[],
  ) {
    liveFleets.add(this);
  }

  /**
   * nats-server, a coordinator (with `coordinatorArgs`, and `coordinatorNodeArgs` for its Node
   * process, e.g. `--cpu-prof`) and `agents`, all ready.
   */
  static async start(root: string, agents: AgentSpec[], coordinatorArgs: string[] = [], coordinatorNodeArgs: string[] = []): Promise<BenchFleet> {
    const f = new BenchFleet(root, agents);
    try {
      const port = await freePort();
      f.address = `127.0.0.1:${port}`;
      f.trust = await makeLocalTrust(join(f.dir, 'trust'), { natsPort: await freePort(), coordinatorPort: port });
      await f.startNats();
      const p = f.trust.paths;
      f.daemon('coordinator', ['coordinator', ...f.busFlags(p.coordinatorCreds), '--trust-dir', p.dir, '--listen', f.address, '--state-dir', join(f.dir, 'coordinator'), ...coordinatorArgs], coordinatorNodeArgs);
      for (const a of agents) {
        const creds = join(f.dir, 'creds', `${a.node}.creds`);
        await issueNodeCreds(p.dir, a.node, creds);
        f.daemon(`agent-${a.node}`, ['agent', ...f.busFlags(creds), '--node', a.node, '--state-dir', f.agentDir(a.node), '--labels', a.labels, '--slots', String(a.slots), ...(a.extra ?? [])], a.nodeArgs);
      }
      f.client = new MeshrunClient(resolveClientTarget({ coordinator: f.address }, { MESHRUN_CONFIG: p.adminConfig }));
      await f.waitReady();
    } catch (err) {
      const logs = f.logTails();
      await f.destroy();
      throw new Error(`fleet did not start: ${(err as Error).message}\n${logs}`);
    }
    return f;
  }

  /** (Re)starts nats-server on the trust root's config (its port and store: the same each time). */
  async startNats(): Promise<NatsServer> {
    this.nats = await NatsServer.start({ dir: join(this.dir, 'nats'), config: this.trust.paths.natsConfig, keepStore: true });
    return this.nats;
  }

  /** A bus connection with the coordinator's credential (every subject), for looking at the bus itself. */
  natsConnect(): Promise<NatsConnection> {
    const p = this.trust.paths;
    return connect({ servers: this.nats!.url, authenticator: credsAuthenticator(readFileSync(p.coordinatorCreds)), tls: natsTls(this.nats!.url, p.caCert) });
  }

  /** A daemon's bus flags: the URL, its credential, the fleet CA. */
  private busFlags(creds: string): string[] {
    return ['--nats', this.nats!.url, '--nats-creds', creds, '--nats-ca', this.trust.paths.caCert];
  }

  agentDir(node: string): string {
    return join(this.dir, `agent-${node}`);
  }

  /** SIGKILLs a daemon and waits until it has exited. */
  async kill(name: string): Promise<void> {
    const c = this.children.get(name);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  /** Another coordinator on the same bus (a standby while one leads); returns its gRPC address. */
  async spawnCoordinator(name: string, extra: string[] = []): Promise<string> {
    const address = `127.0.0.1:${await freePort()}`;
    const p = this.trust.paths;
    this.daemon(name, ['coordinator', ...this.busFlags(p.coordinatorCreds), '--trust-dir', p.dir, '--listen', address, '--state-dir', join(this.dir, name), ...extra]);
    return address;
  }

  /** SIGTERMs a daemon and waits (up to `ms`) until it has closed and exited: what a `--cpu-prof` needs to write its profile. */
  async stop(name: string, ms = 15_000): Promise<void> {
    const c = this.children.get(name);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(ms)]);
  }

  /** Sends a signal to a daemon (SIGSTOP / SIGCONT to freeze and thaw it). */
  signal(name: string, sig: NodeJS.Signals): void {
    this.children.get(name)?.kill(sig);
  }

  /** Starts a daemon again with the arguments it was first started with. */
  respawn(name: string): void {
    const d = this.argsOf.get(name);
    if (!d) throw new Error(`no daemon ${name}`);
    this.daemon(name, d.args, d.nodeArgs);
  }

  private readonly argsOf = new Map<string, { args: string[]; nodeArgs: string[] }>();

  private daemon(name: string, args: string[], nodeArgs: string[] = []): void {
    this.argsOf.set(name, { args, nodeArgs });
    const fd = openSync(join(this.dir, `${name}.log`), 'a');
    // the product's default log level: the bench measures meshrun as it runs by default
    const c = spawn(process.execPath, [...nodeArgs, join(this.root, 'bin', 'meshrun.js'), ...args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, MESHRUN_LOG_LEVEL: process.env.MESHRUN_LOG_LEVEL ?? 'info' },
    });
    closeSync(fd);
    this.children.set(name, c);
  }

  private async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      for (const [name, c] of this.children) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${name} exited (${c.exitCode ?? c.signalCode})`);
      }
      try {
        const nodes = await this.client.listNodes();
        if (this.agents.every((a) => nodes.some((n) => n.name === a.node && n.state === 'ready'))) return;
        last = `nodes: ${nodes.map((n) => `${n.name}=${n.state}`).join(', ') || '(none)'}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`fleet not ready within ${timeoutMs}ms (${last})`);
  }

  /** Submits a job and resolves with the first terminal state the coordinator streams. */
  watchUntilTerminal(id: string, timeoutMs: number): Promise<JobMsg> {
    return new Promise((resolve, reject) => {
      const stream = this.client.watchJob(id);
      let last: JobMsg | undefined;
      const t = setTimeout(() => {
        stream.cancel();
        reject(new Error(`job ${id} not terminal after ${timeoutMs}ms (last seen: ${last ? describeJob(last) : 'nothing'})`));
      }, timeoutMs);
      stream.on('data', (j: JobMsg) => {
        last = j;
        if (isTerminalJob(j.state as JobState)) {
          clearTimeout(t);
          stream.cancel();
          resolve(j);
        }
      });
      stream.on('error', (err: Error & { code?: number }) => {
        // our own cancel() after the terminal state surfaces as CANCELLED (1)
        if (err.code === 1) return;
        clearTimeout(t);
        reject(err);
      });
      stream.on('end', () => {
        clearTimeout(t);
        if (last && isTerminalJob(last.state as JobState)) resolve(last);
        else reject(new Error(`watch of ${id} ended before the job was terminal`));
      });
    });
  }

  /** Runner metadata of `<job>/<stage>.<attempt>` from whichever agent ran it. */
  runMeta(job: string, stage = 'run', attempt = 1): { node: string; createdAt: number; startedAt: number | null; endedAt: number | null } | undefined {
    for (const a of this.agents) {
      const p = join(this.agentDir(a.node), 'runs', job, `${stage}.${attempt}.json`);
      if (!existsSync(p)) continue;
      const m = JSON.parse(readFileSync(p, 'utf8')) as { createdAt: number; startedAt: number | null; endedAt: number | null };
      return { node: a.node, createdAt: m.createdAt, startedAt: m.startedAt, endedAt: m.endedAt };
    }
    return undefined;
  }

  logTails(chars = 3000): string {
    const out: string[] = [];
    for (const name of this.children.keys()) {
      try {
        const s = readFileSync(join(this.dir, `${name}.log`), 'utf8');
        out.push(`--- ${name}\n${s.slice(-chars)}`);
      } catch {
        // no log yet
      }
    }
    return out.join('\n');
  }

  /** Kills daemons, every run process group and wrapper under the fleet dir, NATS; removes the dir. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveFleets.delete(this);
    try {
      this.client?.close();
    } catch {
      // closing
    }
    for (const c of this.children.values()) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    // runs outlive agents by design: stop the ones this fleet started
    killRunsUnder(this.dir);
    if (this.nats?.pid) {
      try {
        process.kill(this.nats.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async destroy(): Promise<void> {
    const waits = [...this.children.values()]
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise((r) => c.once('exit', r)));
    const nats = this.nats;
    this.destroySync();
    await Promise.race([Promise.all([...waits, nats?.stop('SIGKILL').catch(() => undefined)]), sleep(5000)]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function describeJob(j: JobMsg): string {
  const s = j.stages.map((x) => `${x.name}=${x.state}${x.node ? `@${x.node}` : ''}${x.reason ? ` (${x.reason})` : ''}`).join(', ');
  return `${j.id} ${j.state}${j.reason ? ` (${j.reason})` : ''} [${s}]`;
}

export function trueJobSpec(labels: Record<string, string>): string {
  return JSON.stringify({ name: 'bench-true', stages: [{ name: 'run', on: { labels }, run: { command: ['true'] } }] });
}

const DISPATCH_JOBS = Number(process.env.MESHRUN_BENCH_DISPATCH_JOBS ?? 200);
const JOB_TIMEOUT_MS = 20_000;
const NATS_RTT_SAMPLES = 200;

/** A bare NATS request/reply round trip on the fleet's own server (TLS, one responder): the bus's floor. */
export async function natsRoundTrip(fleet: BenchFleet, n = NATS_RTT_SAMPLES): Promise<{ p50: number; p99: number }> {
  const nc = await fleet.natsConnect();
  try {
    const sub = nc.subscribe('bench.rtt', { callback: (_e, m) => void m.respond(m.data) });
    const lat: number[] = [];
    for (let i = 0; i < n + 10; i++) {
      const t0 = performance.now();
      await nc.request('bench.rtt', 'x', { timeout: 2000 });
      if (i >= 10) lat.push(performance.now() - t0);
    }
    sub.unsubscribe();
    return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
  } finally {
    await nc.close();
  }
}

export const dispatchSection: Section = {
  name: 'dispatch',
  async run(ctx: BenchContext): Promise<Row[]> {
    ctx.progress('dispatch: starting nats-server, coordinator and 2 agents');
    const fleet = await BenchFleet.start(ctx.root, [
      { node: 'bench-a', labels: 'bench=1', slots: 8 },
      { node: 'bench-b', labels: 'bench=1', slots: 8 },
    ]);
    try {
      const spec = trueJobSpec({ bench: '1' });
      const submitAt = new Map<string, number>();
      const e2e: number[] = [];
      const states = new Map<string, number>();
      // a few unmeasured jobs first: the first runs pay for JetStream consumers and caches
      for (let i = 0; i < 5; i++) {
        await fleet.client.submit(`warm-${i}`, spec);
        await fleet.watchUntilTerminal(`warm-${i}`, JOB_TIMEOUT_MS);
      }
      ctx.progress(`dispatch: ${DISPATCH_JOBS} single-stage 'true' jobs, one after another`);
      for (let i = 0; i < DISPATCH_JOBS; i++) {
        const id = `d-${i}`;
        const t0 = Date.now();
        submitAt.set(id, t0);
        const r = await fleet.client.submit(id, spec);
        if (!r.created) throw new Error(`job ${id} already existed`);
        const j = await fleet.watchUntilTerminal(id, JOB_TIMEOUT_MS);
        e2e.push(Date.now() - t0);
        states.set(j.state, (states.get(j.state) ?? 0) + 1);
      }
      const dispatch: number[] = [];
      const accepted: number[] = [];
      const wrapperStart: number[] = [];
      const perNode = new Map<string, number>();
      const missing: string[] = [];
      for (const [id, t0] of submitAt) {
        const m = fleet.runMeta(id);
        if (!m || m.startedAt === null) {
          missing.push(id);
          continue;
        }
        dispatch.push(m.startedAt - t0);
        accepted.push(m.createdAt - t0);
        wrapperStart.push(m.startedAt - m.createdAt);
        perNode.set(m.node, (perNode.get(m.node) ?? 0) + 1);
      }
      if (dispatch.length === 0) throw new Error(`no runner .json with startedAt found (${missing.length} missing)`);
      const b = ctx.baseline;
      const rtt = await natsRoundTrip(fleet);
      // the goal's floor: a spawn plus one bus round trip
      const floorP50 = (b.spawnP50Ms ?? NaN) + rtt.p50;
      const floorP99 = (b.spawnP99Ms ?? NaN) + rtt.p99;
      const succeeded = states.get('succeeded') ?? 0;
      const rows: Row[] = [
        row(`NATS request/reply round trip p50 (n=${NATS_RTT_SAMPLES}, TLS)`, rtt.p50, 'ms'),
        row(`NATS request/reply round trip p99`, rtt.p99, 'ms'),
        row(`dispatch submit -> process started p50 (n=${dispatch.length})`, percentile(dispatch, 50), 'ms', floorP50, 'vs raw spawn p50 + NATS round trip p50 (goal x3)'),
        row(`dispatch submit -> process started p99`, percentile(dispatch, 99), 'ms', floorP99, 'vs raw spawn p99 + NATS round trip p99'),
        row(`  of which submit -> agent wrote run .json p50`, percentile(accepted, 50), 'ms'),
        row(`  of which wrapper spawn -> process started p50`, percentile(wrapperStart, 50), 'ms'),
        row(`end-to-end submit -> terminal (WatchJob) p50`, percentile(e2e, 50), 'ms', floorP50, 'vs raw spawn p50 + NATS round trip p50'),
        row(`end-to-end submit -> terminal (WatchJob) p99`, percentile(e2e, 99), 'ms', floorP99, 'vs raw spawn p99 + NATS round trip p99'),
        row(`dispatch jobs succeeded`, succeeded, `of ${DISPATCH_JOBS}`, undefined, [...perNode].map(([n, c]) => `${n}:${c}`).join(' ') + (missing.length ? ` missing .json: ${missing.length}` : '')),
      ];
      if (succeeded !== DISPATCH_JOBS) ctx.progress(`dispatch: WARNING job states ${JSON.stringify(Object.fromEntries(states))}`);
      return rows;
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${fleet.logTails(1500)}`);
    } finally {
      await fleet.destroy();
    }
  },
};
