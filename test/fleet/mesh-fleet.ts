// Test harness for the mesh: machines as namespaces (test/fleet/netns.ts), NATS and the
// coordinator on the first one (gRPC on its underlay address, so other machines can be clients),
// a real agent with its own WireGuard interface on each node machine, and teardown that runs
// even when a test fails. Interface names carry a random tag: wireguard-go sockets are machine-wide.
// The fleet runs secured as users run it (like test/harness/processes.ts `Fleet`): a trust root,
// nats-server on its TLS/accounts config, a node credential per agent, the CLI as the admin.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '../../lib/nats-server.js';
import { killRunsUnder } from '../../lib/run-reaper.js';
import { issueNodeCreds, makeLocalTrust, type LocalTrust } from '../../lib/trust/local-trust.js';
import { issueCert, writePrivateKey } from '../../lib/trust/x509.js';
import { Daemon, runCli, waitFor, type CliResult } from '../harness/processes.js';
import { createFleet, type Fleet as NetFleet, type Machine } from './netns.js';

export const NATS_PORT = 4222;
export const GRPC_PORT = 7433;
export const WG_PORT = 51820;

export interface MeshEdgeJson {
  peer: string;
  peerKind: string;
  publicKey: string;
  endpoint: string | null;
  handshakeAgeMs: number | null;
  rxBytes: number;
  txBytes: number;
  silentMs: number;
  health: string;
}
export interface MeshNodeJson {
  name: string;
  address: string;
  state: string;
  publicKey: string;
  endpoint: string | null;
  desiredVersion: number;
  appliedVersion: number;
  inSync: boolean;
  rotating: boolean;
  statusAgeMs: number | null;
  error: string | null;
  edges: MeshEdgeJson[];
}
export interface MeshJson {
  cidr: string;
  keepaliveS: number;
  revokedKeys: number;
  nodes: MeshNodeJson[];
  clients: { name: string; address: string; publicKey: string; endpoint: string | null }[];
}

export interface MeshFleetOptions {
  prefix: string;
  /** Machines after the bus machine that run an agent named n1, n2, ... */
  nodes: number;
  /** Machines after those with nothing running (workstations). */
  spare?: number;
  /** Also run an agent `hub` on the bus machine. */
  hub?: boolean;
  cidr?: string;
  keepalive?: string;
}

const inNs = (m: Machine): string[] => ['ip', 'netns', 'exec', m.netns];

export class MeshFleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'meshrun-mesh-'));
  readonly tag = randomBytes(3).toString('hex');
  readonly agents = new Map<string, Daemon>();
  readonly machineOf = new Map<string, Machine>();
  net!: NetFleet;
  trust!: LocalTrust;
  nats: NatsServer | undefined;
  coordinator: Daemon | undefined;
  private coordinatorArgs: string[] = [];
  /** The address nats-server listens on (and its certificate names): the bus machine's underlay IP, or another given to startNats. */
  private natsHost = '';

  private constructor(readonly opts: MeshFleetOptions) {}

  static async start(opts: MeshFleetOptions): Promise<MeshFleet> {
    const f = new MeshFleet(opts);
    try {
      f.net = await createFleet({ prefix: opts.prefix, count: 1 + opts.nodes + (opts.spare ?? 0) });
      const busIp = f.bus.underlayIp;
      f.trust = await makeLocalTrust(join(f.dir, 'trust'), { natsHost: busIp, natsPort: NATS_PORT, coordinatorPort: GRPC_PORT, coordinatorHosts: [busIp] });
      await f.startNats();
      f.coordinatorArgs = ['--mesh-cidr', opts.cidr ?? '10.99.0.0/24', '--mesh-keepalive', opts.keepalive ?? '1s'];
      await f.startCoordinator();
      if (opts.hub) await f.startAgent('hub', f.bus);
      for (let i = 1; i <= opts.nodes; i++) await f.startAgent(`n${i}`, f.net.machines[i]!);
    } catch (err) {
      await f.destroy();
      throw err;
    }
    return f;
  }

  get bus(): Machine {
    return this.net.machines[0]!;
  }

  /** Machines without an agent (for clients). */
  get spares(): Machine[] {
    return this.net.machines.slice(1 + this.opts.nodes);
  }

  /** Where the bus is now: TLS on the address nats-server listens on. */
  get natsUrl(): string {
    return `tls://${this.natsHost || this.bus.underlayIp}:${NATS_PORT}`;
  }

  get coordinatorAddress(): string {
    return `${this.bus.underlayIp}:${GRPC_PORT}`;
  }

  /**
   * (Re)starts nats-server on the bus machine, on the trust root's config: it listens on the
   * underlay address. Given another `host` (e.g. the bus machine's mesh address) it listens
   * there and nowhere else, with a server certificate for that address from the fleet CA, as an
   * operator moving the bus would issue one. The JetStream store is kept across restarts.
   */
  async startNats(host = this.bus.underlayIp): Promise<void> {
    const config = host === this.trust.natsHost ? this.trust.paths.natsConfig : await this.natsConfigFor(host);
    this.nats = await NatsServer.start({ dir: join(this.dir, 'nats'), config, host, keepStore: true, wrap: inNs(this.bus) });
    this.natsHost = host;
  }

  /** The trust root's nats-server config with `host` as its listen address and certificate. */
  private async natsConfigFor(host: string): Promise<string> {
    const p = this.trust.paths;
    const dir = join(this.dir, `nats-on-${host}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const cert = join(dir, 'server.pem');
    const key = join(dir, 'server-key.pem');
    // the names makeLocalTrust gives the bus, with `host` for the one it had: nats.js checks a
    // server dialled by IP address against the name `localhost` (it sends no server name then)
    const ca = { certPem: readFileSync(p.caCert, 'utf8'), keyPem: readFileSync(p.caKey, 'utf8') };
    const server = await issueCert(ca, { commonName: host, ips: [host, '127.0.0.1'], dnsNames: ['localhost'], usage: 'server', validDays: 30 });
    writeFileSync(cert, server.certPem, { mode: 0o644 });
    writePrivateKey(key, server.keyPem);
    const q = (s: string): string => JSON.stringify(s);
    let text = readFileSync(p.natsConfig, 'utf8');
    for (const [from, to] of [
      [/^host: .*$/m, `host: ${q(host)}`],
      [`cert_file: ${q(p.natsCert)}`, `cert_file: ${q(cert)}`],
      [`key_file: ${q(p.natsKey)}`, `key_file: ${q(key)}`],
    ] as const) {
      const next = text.replace(from, to);
      if (next === text) throw new Error(`${p.natsConfig}: no ${String(from)} to replace (has the config's layout changed?)`);
      text = next;
    }
    const config = join(dir, 'nats.conf');
    writeFileSync(config, text, { mode: 0o600 });
    return config;
  }

  /** The flags a daemon's bus connection needs: the URL, a credential, the fleet CA. */
  private busFlags(nats: string, creds: string): string[] {
    return ['--nats', nats, '--nats-creds', creds, '--nats-ca', this.trust.paths.caCert];
  }

  async startCoordinator(nats = this.natsUrl): Promise<void> {
    const p = this.trust.paths;
    const args = ['coordinator', ...this.busFlags(nats, p.coordinatorCreds), '--trust-dir', p.dir, '--listen', `0.0.0.0:${GRPC_PORT}`, '--state-dir', join(this.dir, 'coordinator'), ...this.coordinatorArgs];
    this.coordinator = new Daemon('coordinator', args, this.dir, {}, inNs(this.bus));
    await waitFor('coordinator to answer', async () => (await this.cli(['nodes', '--json'])).code === 0, 20_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n--- coordinator\n${this.coordinator!.log().slice(-4000)}`);
    });
  }

  ifname(node: string): string {
    return `mr${this.tag}${node}`.slice(0, 15);
  }

  agentDir(node: string): string {
    return join(this.dir, `agent-${node}`);
  }

  /** Starts `node`'s agent on machine `m`, on a node credential of its own (issued as enrollment would, once). */
  async startAgent(node: string, m: Machine, nats = this.natsUrl): Promise<Daemon> {
    const creds = join(this.dir, 'creds', `${node}.creds`);
    if (!existsSync(creds)) await issueNodeCreds(this.trust.paths.dir, node, creds);
    const args = ['agent', ...this.busFlags(nats, creds), '--node', node, '--state-dir', this.agentDir(node), '--labels', `node=${node}`];
    args.push('--mesh-if', this.ifname(node), '--mesh-endpoint', `${m.underlayIp}:${WG_PORT}`, '--heartbeat', '250ms');
    const d = new Daemon(`agent-${node}`, args, this.dir, {}, inNs(m));
    this.agents.set(node, d);
    this.machineOf.set(node, m);
    return d;
  }

  machine(node: string): Machine {
    const m = this.machineOf.get(node);
    if (!m) throw new Error(`no machine for ${node}`);
    return m;
  }

  /** The CLI as the fleet's admin on the bus machine (or on `on`, e.g. a workstation), talking to the coordinator's gRPC. */
  cli(args: string[], o: { on?: Machine; timeoutMs?: number } = {}): Promise<CliResult> {
    return runCli(['--coordinator', this.coordinatorAddress, ...args], { wrap: inNs(o.on ?? this.bus), timeoutMs: o.timeoutMs ?? 60_000, env: { MESHRUN_CONFIG: this.trust.paths.adminConfig } });
  }

  async mesh(): Promise<MeshJson> {
    const r = await this.cli(['mesh', '--json']);
    if (r.code !== 0) throw new Error(`mesh --json failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as MeshJson;
  }

  /** Every named node is a member, in sync, and has a handshake with every other named node. */
  async waitConverged(nodes: string[], timeoutMs = 30_000): Promise<MeshJson> {
    let last: MeshJson | undefined;
    try {
      return await waitFor(`mesh of ${nodes.join(',')} in sync`, async () => {
        last = await this.mesh();
        const ok = nodes.every((n) => {
          const m = last!.nodes.find((x) => x.name === n);
          return m && m.inSync && nodes.filter((o) => o !== n).every((o) => m.edges.some((e) => e.peer === o));
        });
        return ok ? last : undefined;
      }, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nlast: ${JSON.stringify(last, null, 1)}\n${this.logs()}`);
    }
  }

  async ping(from: Machine, to: string, attempts = 1): Promise<boolean> {
    for (let i = 0; i < attempts; i++) {
      if ((await from.exec(['ping', '-c', '1', '-W', '1', to])).exitCode === 0) return true;
    }
    return false;
  }

  logs(): string {
    return [this.coordinator, ...this.agents.values()].filter((d): d is Daemon => d !== undefined).map((d) => `--- ${d.name}\n${d.log().slice(-5000)}`).join('\n');
  }

  async destroy(): Promise<void> {
    for (const a of this.agents.values()) await a.kill('SIGKILL').catch(() => undefined);
    await this.coordinator?.kill('SIGKILL').catch(() => undefined);
    killRunsUnder(this.dir);
    await this.nats?.stop('SIGKILL').catch(() => undefined);
    // Also stops every wireguard-go the agents and clients left in the namespaces.
    await this.net?.destroy();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}
