// Test harness for the mesh: machines as namespaces (test/fleet/netns.ts), NATS and the
// coordinator on the first one (gRPC on its underlay address, so other machines can be clients),
// a real agent with its own WireGuard interface on each node machine, and teardown that runs
// even when a test fails. Interface names carry a random tag: wireguard-go sockets are machine-wide.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '../../lib/nats-server.js';
import { killRunsUnder } from '../../lib/run-reaper.js';
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
  nats: NatsServer | undefined;
  coordinator: Daemon | undefined;
  private coordinatorArgs: string[] = [];

  private constructor(readonly opts: MeshFleetOptions) {}

  static async start(opts: MeshFleetOptions): Promise<MeshFleet> {
    const f = new MeshFleet(opts);
    try {
      f.net = await createFleet({ prefix: opts.prefix, count: 1 + opts.nodes + (opts.spare ?? 0) });
      await f.startNats();
      f.coordinatorArgs = ['--mesh-cidr', opts.cidr ?? '10.99.0.0/24', '--mesh-keepalive', opts.keepalive ?? '1s'];
      await f.startCoordinator();
      if (opts.hub) f.startAgent('hub', f.bus);
      for (let i = 1; i <= opts.nodes; i++) f.startAgent(`n${i}`, f.net.machines[i]!);
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

  get natsUrl(): string {
    return `nats://${this.bus.underlayIp}:${NATS_PORT}`;
  }

  get coordinatorAddress(): string {
    return `${this.bus.underlayIp}:${GRPC_PORT}`;
  }

  /** NATS on every address of the bus machine (underlay, and its mesh address once it has one). */
  async startNats(host = '0.0.0.0'): Promise<void> {
    this.nats = await NatsServer.start({ dir: join(this.dir, 'nats'), port: NATS_PORT, host, keepStore: true, wrap: inNs(this.bus) });
  }

  async startCoordinator(nats = `nats://127.0.0.1:${NATS_PORT}`): Promise<void> {
    const args = ['coordinator', '--nats', nats, '--listen', `0.0.0.0:${GRPC_PORT}`, '--state-dir', join(this.dir, 'coordinator'), ...this.coordinatorArgs];
    this.coordinator = new Daemon('coordinator', args, this.dir, {}, inNs(this.bus));
    await waitFor('coordinator to answer', async () => (await this.cli(['nodes', '--json'])).code === 0, 20_000, 100);
  }

  ifname(node: string): string {
    return `mr${this.tag}${node}`.slice(0, 15);
  }

  agentDir(node: string): string {
    return join(this.dir, `agent-${node}`);
  }

  startAgent(node: string, m: Machine, nats = this.natsUrl): Daemon {
    const args = ['agent', '--nats', nats, '--node', node, '--state-dir', this.agentDir(node), '--labels', `node=${node}`];
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

  /** The CLI on the bus machine (or on `on`, e.g. a workstation), talking to the coordinator's gRPC. */
  cli(args: string[], o: { on?: Machine; timeoutMs?: number } = {}): Promise<CliResult> {
    return runCli(['--coordinator', this.coordinatorAddress, ...args], { wrap: inNs(o.on ?? this.bus), timeoutMs: o.timeoutMs ?? 60_000 });
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
