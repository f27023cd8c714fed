// Real daemons for tests: nats-server, coordinator and agents as child processes of
// the built CLI, each with its own temp dirs; everything is killed and removed by
// `Fleet.destroy()`, which tests call in afterAll/afterEach even when they fail.
import { natsTls } from '../../lib/nats.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { NatsServer } from '../../lib/nats-server.js';
import { freePort } from '../../lib/free-port.js';
import { killRunsUnder } from '../../lib/run-reaper.js';
import { issueNodeCreds, makeLocalTrust, type LocalTrust } from '../../lib/trust/local-trust.js';
import { natsClusterServerPaths } from '../../lib/trust/paths.js';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { expect } from 'vitest';
import { MeshrunClient } from '../../cli/client.js';
import { resolveClientTarget } from '../../cli/client-config.js';
import { jobJson, nodeJson } from '../../cli/job-json.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'meshrun.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export { freePort } from '../../lib/free-port.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The process exists and is not a zombie (this machine's PID 1 reaps orphans lazily). */
export function pidAlive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * A read the harness makes in a loop: one that gets no answer fails after `ms` (the call of a
 * client with one coordinator address has no deadline), so a waitFor names it instead of
 * spending its whole time on one hung call.
 */
function answeredWithin<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class Daemon {
  child: ChildProcess;
  readonly logFile: string;

  constructor(
    readonly name: string,
    readonly args: string[],
    readonly dir: string,
    private readonly env: Record<string, string> = {},
    /** A wrapper command, e.g. `ip netns exec NS`, to run the daemon on a test machine. */
    private readonly wrap: string[] = [],
  ) {
    this.logFile = join(dir, `${name}.log`);
    this.child = this.spawn();
  }

  private spawn(): ChildProcess {
    const fd = openSync(this.logFile, 'a');
    const argv = [...this.wrap, process.execPath, BIN, ...this.args];
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd], env: { ...process.env, MESHRUN_LOG_LEVEL: 'debug', ...this.env } });
    closeSync(fd);
    return c;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await exited;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  restart(): void {
    if (this.alive) throw new Error(`${this.name} still running`);
    this.child = this.spawn();
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

export interface AgentSpec {
  node: string;
  labels?: string;
  slots?: number;
  standby?: boolean;
  extra?: string[];
  /** Run the agent inside this network namespace. */
  netns?: string;
}

export interface FleetOptions {
  agents?: AgentSpec[];
  coordinatorArgs?: string[];
  /** Run nats-server and the coordinator (and the CLI) inside this namespace, NATS on `busHost`. */
  busNetns?: string;
  busHost?: string;
  /**
   * A nats-server cluster instead of one server: each on its own machine (namespace) and
   * address, JetStream replicated (give the coordinators `--replicas 3`).
   */
  natsCluster?: { netns: string; host: string }[];
  /** Run the CLI (and the harness's reads) on this machine: the operator's workstation. */
  workstationNetns?: string;
  /**
   * One coordinator on each of these machines (namespace, address) instead of one on the bus
   * machine: the first leads, the others wait as standbys; the CLI is given every address.
   */
  coordinatorMachines?: { netns: string; host: string }[];
}

const inNetns = (ns: string | undefined): string[] => (ns ? ['ip', 'netns', 'exec', ns] : []);

/**
 * MESHRUN_TEST_KEEP_LOGS=DIR: every fleet's daemon logs are copied there before its directory
 * goes (DIR/<fleet dir>/<daemon>.log), to read what a daemon did in a run that failed under load.
 */
function keepLogs(dir: string, startedBy: string): void {
  const keep = process.env.MESHRUN_TEST_KEEP_LOGS;
  if (!keep || !existsSync(dir)) return;
  const to = join(keep, basename(dir));
  mkdirSync(to, { recursive: true });
  writeFileSync(join(to, 'started-by.txt'), startedBy + '\n');
  for (const f of readdirSync(dir)) if (f.endsWith('.log')) copyFileSync(join(dir, f), join(to, f));
}

/**
 * A fleet on this machine running the secured setup users run: a trust root as `meshrun init`
 * makes it, nats-server on its TLS/accounts config, the coordinator on its credential with TLS
 * and users, every agent on a node credential of its own, the CLI as the fleet's admin.
 */
export class Fleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'meshrun-test-'));
  /** The test file and test that started this fleet (named in kept logs). */
  readonly startedBy = `${expect.getState().testPath ?? ''} > ${expect.getState().currentTestName ?? '(beforeAll)'}`;
  nats!: NatsServer;
  trust!: LocalTrust;
  private busHost: string | undefined;
  coordinator!: Daemon;
  coordinatorAddress = '';
  readonly agents = new Map<string, Daemon>();
  private coordinatorExtra: string[] = [];
  private readonly extraCoordinators: Daemon[] = [];
  private busNetns: string | undefined;
  private workstationNetns: string | undefined;
  private cluster: { netns: string; host: string; name: string }[] = [];
  /** Every server of the cluster, by name (nats-1, nats-2, ...); just `nats` without one. */
  readonly natsServers = new Map<string, NatsServer>();

  static async start(opts: FleetOptions = {}): Promise<Fleet> {
    const f = new Fleet();
    f.busNetns = opts.busNetns;
    f.busHost = opts.busHost;
    f.workstationNetns = opts.workstationNetns;
    f.cluster = (opts.natsCluster ?? []).map((s, i) => ({ ...s, name: `nats-${i + 1}` }));
    // which part of the start a failure came from, and how long each took: a start that times
    // out under load must say where it waited
    const phases: string[] = [];
    const t0 = Date.now();
    const phase = (what: string): void => void phases.push(`${what} at ${Date.now() - t0} ms`);
    try {
      const natsPort = await freePort();
      const coordinatorHosts = [...(opts.busHost ? [opts.busHost] : []), ...(opts.coordinatorMachines?.map((m) => m.host) ?? [])];
      const natsCluster = f.cluster.length ? { name: 'meshrun', servers: f.cluster.map((s) => ({ name: s.name, host: s.host, port: natsPort, clusterPort: 6222 })) } : undefined;
      f.trust = await makeLocalTrust(join(f.dir, 'trust'), { natsHost: opts.busHost, natsPort, coordinatorPort: 7433, coordinatorHosts, natsCluster });
      phase('trust made');
      if (f.cluster.length) await Promise.all(f.cluster.map((s) => f.startClusterServer(s.name)));
      else await f.startNats();
      phase('nats started');
      f.coordinatorExtra = opts.coordinatorArgs ?? [];
      if (opts.coordinatorMachines?.length) await f.startCoordinators(opts.coordinatorMachines);
      else await f.startCoordinator();
      phase('coordinator answers');
      for (const a of opts.agents ?? []) {
        await f.startAgent(a);
        phase(`agent ${a.node} started`);
      }
      if (opts.agents?.length) await f.waitNodesReady(opts.agents.map((a) => a.node));
    } catch (err) {
      const logs = f.logs(30);
      await f.destroy();
      throw new Error(`fleet start failed after ${Date.now() - t0} ms (${phases.join(', ') || 'nothing started'}): ${(err as Error).message}\n${logs}`, { cause: err });
    }
    return f;
  }

  /** (Re)starts nats-server on the trust root's config; its store survives a restart. */
  async startNats(): Promise<NatsServer> {
    this.nats = await NatsServer.start({ dir: join(this.dir, 'nats'), config: this.trust.paths.natsConfig, keepStore: true, host: this.busHost, wrap: inNetns(this.busNetns) });
    return this.nats;
  }

  /** (Re)starts one server of the cluster on its machine; its store survives a restart. */
  async startClusterServer(name: string): Promise<NatsServer> {
    const s = this.cluster.find((c) => c.name === name);
    if (!s) throw new Error(`no cluster server ${name}`);
    const server = await NatsServer.start({ dir: join(this.dir, name), config: natsClusterServerPaths(this.trust.paths.dir, name).config, keepStore: true, host: s.host, wrap: inNetns(s.netns) });
    this.natsServers.set(name, server);
    if (name === this.cluster[0]!.name) this.nats = server;
    return server;
  }

  /** Every server URL (comma-separated) daemons are given from now on: a cluster a test moved the fleet to. */
  busUrls: string | undefined;

  /** Every server's URL, comma-separated (what daemons are given). */
  get natsUrls(): string {
    return this.busUrls ?? (this.cluster.length ? this.cluster.map((s) => `tls://${s.host}:${this.trust.natsPort}`).join(',') : this.nats.url);
  }

  /** The bus URL(s) daemons and tests connect to. */
  get natsUrl(): string {
    return this.natsUrls;
  }

  /** A bus connection with the coordinator's credential (all subjects), for tests that look at the bus itself. */
  natsConnect(): Promise<NatsConnection> {
    const p = this.trust.paths;
    return connect({ servers: this.natsUrls.split(','), authenticator: credsAuthenticator(readFileSync(p.coordinatorCreds)), tls: natsTls(this.natsUrls, p.caCert) });
  }

  /** The flags a daemon's bus connection needs: the URL, a credential, the fleet CA. */
  busFlags(creds: string): string[] {
    return ['--nats', this.natsUrls, '--nats-creds', creds, '--nats-ca', this.trust.paths.caCert];
  }

  /** The client the harness reads through, for the coordinator now listening. */
  private reads: { address: string; client: MeshrunClient } | undefined;

  /**
   * Reads that tests poll (job, nodes) go through one in-process client: the CLI costs a whole
   * Node start per call, which made polling the main CPU cost of the suite. The CLI itself is
   * tested where a test calls `cli`. A coordinator inside a namespace is read through the CLI.
   */
  private reader(): MeshrunClient | undefined {
    if (this.busNetns || this.workstationNetns) return undefined;
    if (this.reads?.address !== this.coordinatorAddress) {
      this.reads?.client.close();
      this.reads = { address: this.coordinatorAddress, client: this.client() };
    }
    return this.reads.client;
  }

  /** A gRPC client as the fleet's admin. */
  client(): MeshrunClient {
    return new MeshrunClient(resolveClientTarget({ coordinator: this.coordinatorAddress }, { MESHRUN_CONFIG: this.trust.paths.adminConfig }));
  }

  async startCoordinator(): Promise<void> {
    const { daemon, address } = await this.spawnCoordinator('coordinator');
    this.useCoordinator(daemon, address);
    // a coordinator over a copied store on a fresh cluster may take a while to load (JetStream electing)
    try {
      await waitFor('coordinator to answer', async () => (this.busNetns ? (await this.cli(['nodes', '--json'])).code === 0 : (await this.nodes(), true)), 60_000, 100);
    } catch (err) {
      // what it was doing meanwhile: the failure is useless without it
      throw new Error(`${(err as Error).message}\n--- coordinator log\n${daemon.log().slice(-6000)}`);
    }
  }

  /** Coordinators of their own machines, by name (coordinator-1, ...): the first started leads. */
  readonly coordinators = new Map<string, { daemon: Daemon; address: string; machine: { netns: string; host: string } }>();

  private async startCoordinators(machines: { netns: string; host: string }[]): Promise<void> {
    for (const [i, m] of machines.entries()) {
      const { daemon, address } = await this.spawnCoordinator(`coordinator-${i + 1}`, [], m);
      this.coordinators.set(daemon.name, { daemon, address, machine: m });
      if (i === 0) {
        this.coordinator = daemon;
        await waitFor('the first coordinator to lead', () => /coordinator listening/.test(daemon.log()), 60_000, 100);
      }
    }
    this.coordinatorAddress = [...this.coordinators.values()].map((c) => c.address).join(',');
    await waitFor('coordinators to answer', async () => (await this.cli(['nodes', '--json'])).code === 0, 30_000, 200);
  }

  /** The coordinator that leads now (from their logs: the last to say it holds the lease and is alive). */
  leader(): { daemon: Daemon; address: string; machine: { netns: string; host: string } } | undefined {
    let best: { at: number; c: { daemon: Daemon; address: string; machine: { netns: string; host: string } } } | undefined;
    for (const c of this.coordinators.values()) {
      if (!c.daemon.alive) continue;
      const m = [...c.daemon.log().matchAll(/"time":"([^"]+)"[^\n]*"msg":"leading: this coordinator holds the lease"/g)].pop();
      if (m && (!best || Date.parse(m[1]!) > best.at)) best = { at: Date.parse(m[1]!), c };
    }
    return best?.c;
  }

  /**
   * A coordinator process on a port and state directory of its own (a standby while another
   * leads); on a machine of its own when `on` is given (its namespace and address).
   */
  async spawnCoordinator(name: string, extra: string[] = [], on?: { netns: string; host: string }): Promise<{ daemon: Daemon; address: string }> {
    const address = on ? `${on.host}:7433` : `127.0.0.1:${await freePort()}`;
    const p = this.trust.paths;
    const daemon = new Daemon(name, ['coordinator', ...this.busFlags(p.coordinatorCreds), '--trust-dir', p.dir, '--listen', address, '--state-dir', join(this.dir, name), ...this.coordinatorExtra, ...extra], this.dir, {}, inNetns(on?.netns ?? this.busNetns));
    this.extraCoordinators.push(daemon);
    return { daemon, address };
  }

  /** Reads and the CLI go to this coordinator from now on (the one that leads). */
  useCoordinator(daemon: Daemon, address: string): void {
    this.coordinator = daemon;
    this.coordinatorAddress = address;
  }

  /** Starts an agent on a node credential of its own (issued as enrollment would). */
  async startAgent(a: AgentSpec): Promise<Daemon> {
    const creds = join(this.dir, 'creds', `${a.node}.creds`);
    if (!existsSync(creds)) await issueNodeCreds(this.trust.paths.dir, a.node, creds);
    const args = ['agent', ...this.busFlags(creds), '--node', a.node, '--state-dir', this.agentDir(a.node), '--labels', a.labels ?? ''];
    if (a.slots) args.push('--slots', String(a.slots));
    if (a.standby) args.push('--standby');
    args.push(...(a.extra ?? []));
    const d = new Daemon(`agent-${a.node}`, args, this.dir, {}, inNetns(a.netns));
    this.agents.set(a.node, d);
    return d;
  }

  agent(node: string): Daemon {
    const d = this.agents.get(node);
    if (!d) throw new Error(`no agent ${node}`);
    return d;
  }

  agentDir(node: string): string {
    return join(this.dir, `agent-${node}`);
  }

  /**
   * A run's pid and process group once the agent recorded its start in `<stem>.json`: for the
   * launcher's runs that is at the agent's next look after the start, not at once.
   */
  runStart(node: string, job: string, stem = 'run.1'): Promise<{ pid: number; pgid: number }> {
    const file = join(this.agentDir(node), 'runs', job, `${stem}.json`);
    return waitFor(`the start recorded in ${file}`, () => {
      const m = JSON.parse(readFileSync(file, 'utf8')) as { pid: number | null; pgid: number | null };
      return m.pid !== null && m.pgid !== null ? { pid: m.pid, pgid: m.pgid } : undefined;
    });
  }

  /**
   * Every named node is ready, and has been heard from again since: a node's first heartbeat
   * makes it "ready" in the list, but its lease is live (and the scheduler places there) only
   * from the next one, half a second later. A test that submitted in between found a job on
   * another node than it expected (seen in a loaded run).
   */
  async waitNodesReady(names: string[], timeoutMs = 20_000): Promise<void> {
    await waitFor(`nodes ${names.join(',')} ready`, async () => {
      const nodes = await this.nodes();
      return names.every((n) => nodes.some((x) => x.name === n && x.state === 'ready'));
    }, timeoutMs);
    const readyAt = Date.now();
    await waitFor(`nodes ${names.join(',')} heard from again once ready`, async () => {
      const asked = Date.now();
      const nodes = await this.nodes();
      // the last heartbeat was at least this late (the reply was made after `asked`)
      return names.every((n) => nodes.some((x) => x.name === n && x.state === 'ready' && asked - x.lastSeenMs > readyAt));
    }, timeoutMs);
  }

  async nodes(): Promise<{ name: string; state: string; labels: Record<string, string>; lastSeenMs: number; running: number }[]> {
    const c = this.reader();
    if (c) return (await answeredWithin(c.listNodes(), 'ListNodes')).map((n) => nodeJson(n) as unknown as { name: string; state: string; labels: Record<string, string>; lastSeenMs: number; running: number });
    const r = await this.cli(['nodes', '--json']);
    if (r.code !== 0) throw new Error(`nodes failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  async job(id: string): Promise<JobJson> {
    const c = this.reader();
    if (c) return jobJson(await answeredWithin(c.getJob(id), `GetJob ${id}`)) as unknown as JobJson;
    const r = await this.cli(['job', id, '--json']);
    if (r.code !== 0) throw new Error(`job ${id} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as JobJson;
  }

  async waitJob(id: string, pred: (j: JobJson) => boolean, what = 'job state', timeoutMs = 30_000): Promise<JobJson> {
    let last: JobJson | undefined;
    try {
      return await waitFor(`${id}: ${what}`, async () => {
        last = await this.job(id);
        return pred(last) ? last : undefined;
      }, timeoutMs, 150);
    } catch (err) {
      // the job last: a CI report that keeps only the tail of the output still shows it
      throw new Error(`${(err as Error).message}\n${this.logs()}\n--- ${id} last seen: ${JSON.stringify(last)}`);
    }
  }

  cli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
    return runCli(args, { ...opts, wrap: inNetns(this.workstationNetns ?? this.busNetns), env: { MESHRUN_COORDINATOR: this.coordinatorAddress, MESHRUN_CONFIG: this.trust.paths.adminConfig, ...opts.env } });
  }

  async destroy(): Promise<void> {
    this.reads?.client.close();
    this.reads = undefined;
    for (const a of this.agents.values()) await a.kill('SIGKILL').catch(() => undefined);
    for (const c of new Set([this.coordinator, ...this.extraCoordinators])) if (c) await c.kill('SIGKILL').catch(() => undefined);
    // runs outlive agents by design: stop every run process group the test fleet started
    killRunsUnder(this.dir);
    await this.nats?.stop('SIGKILL').catch(() => undefined);
    for (const s of this.natsServers.values()) await s.stop('SIGKILL').catch(() => undefined);
    keepLogs(this.dir, this.startedBy);
    // a run process killed a moment ago may still be finishing a write in its directory
    for (let i = 0; ; i++) {
      try {
        rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
        break;
      } catch (err) {
        if (i >= 10) {
          const { execFileSync } = await import('node:child_process');
          throw new Error(`${(err as Error).message}\n${execFileSync('ls', ['-laR', this.dir], { encoding: 'utf8' }).slice(0, 3000)}`);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  /**
   * The last `lines` lines each daemon logged, for assertion messages: info and above, each cut
   * to 300 characters (a debug line with a stack trace would crowd out what happened).
   */
  logs(lines = 20): string {
    const daemons = [...new Set([this.coordinator, ...[...this.coordinators.values()].map((c) => c.daemon), ...this.agents.values()])].filter(Boolean);
    return daemons.map((d) => {
      const kept = d.log().split('\n').filter((l) => l !== '' && !l.startsWith('{"level":"debug"')).slice(-lines);
      return `--- ${d.name}\n${kept.map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)).join('\n')}`;
    }).join('\n');
  }

  /** Everything each daemon logged, debug included: for a file kept beside a failed test. */
  allLogs(): string {
    const daemons = [...new Set([this.coordinator, ...[...this.coordinators.values()].map((c) => c.daemon), ...this.agents.values()])].filter(Boolean);
    return daemons.map((d) => `--- ${d.name}\n${d.log()}`).join('\n');
  }
}

export interface JobJson {
  id: string;
  name: string;
  state: string;
  exitCode: number | null;
  reason: string;
  authoritativeNode: string | null;
  stages: {
    name: string;
    state: string;
    node: string | null;
    attempt: number;
    exitCode: number | null;
    reason: string;
    attempts: { attempt: number; node: string; state: string; exitCode: number | null; reason: string; staleResult: string | null }[];
  }[];
}

export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; input?: string; wrap?: string[] } = {}): Promise<CliResult> {
  return new Promise((res) => {
    const argv = [...(opts.wrap ?? []), process.execPath, BIN, ...args];
    const c = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    c.stdin.end(opts.input ?? '');
    const t = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    c.on('close', (code, sig) => {
      clearTimeout(t);
      res({ code: code ?? (sig ? 128 : 1), stdout, stderr });
    });
  });
}
