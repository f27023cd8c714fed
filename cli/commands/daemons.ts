// `meshrun coordinator` and `meshrun agent`: run a daemon in the foreground until
// SIGINT/SIGTERM (handled once here), then close it in order.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../../agent/index.js';
import { Coordinator } from '../../coordinator/coordinator.js';
import { startGrpcServer } from '../../coordinator/grpc-server.js';
import { agentConfigSchema, coordinatorConfigSchema } from '../../proto/config.js';
import { parseDuration } from '../../proto/duration.js';
import { isValidName, parseLabelList } from '../../proto/names.js';
import { createLogger } from '../../lib/log.js';
import { DEFAULT_COORDINATOR } from '../client.js';
import { defaultNodeName, defaultStateDir, readConfig } from '../config.js';
import { ExitCode, ExitError } from '../exit.js';
import { agentMeshOptions, coordinatorMeshSettings, startMeshCoordinator, type AgentMeshFlags, type CoordinatorMeshFlags } from './mesh-daemons.js';

export interface CoordinatorFlags extends CoordinatorMeshFlags {
  nats?: string;
  listen?: string;
  stateDir?: string;
  config?: string;
  suspectAfter?: string;
  downAfter?: string;
}

export interface AgentFlags extends AgentMeshFlags {
  nats?: string;
  node?: string;
  labels?: string;
  stateDir?: string;
  slots?: string;
  standby?: boolean;
  config?: string;
  heartbeat?: string;
  lease?: string;
  killGrace?: string;
}

function durationFlag(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const ms = parseDuration(v);
  if (ms === undefined) throw new ExitError(ExitCode.Usage, `--${name} ${v}: expected a duration like 500ms, 2s or 1m`);
  return ms;
}

function untilSignal(close: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`meshrun: ${sig} received, shutting down\n`);
      close().then(
        () => resolve(ExitCode.Ok),
        () => resolve(ExitCode.Error),
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

export async function runCoordinator(f: CoordinatorFlags): Promise<number> {
  const cfg = readConfig(f.config, coordinatorConfigSchema);
  const nats = f.nats ?? cfg.nats ?? 'nats://127.0.0.1:4222';
  const listen = f.listen ?? cfg.listen ?? DEFAULT_COORDINATOR;
  const stateDir = f.stateDir ?? cfg.stateDir ?? join(defaultStateDir(), 'coordinator');
  const log = createLogger({ daemon: 'coordinator' });
  const meshSettings = coordinatorMeshSettings(f, cfg);
  const coordinator = new Coordinator({
    nats,
    suspectAfterMs: durationFlag('suspect-after', f.suspectAfter, cfg.suspectAfter ?? 1500),
    downAfterMs: durationFlag('down-after', f.downAfter, cfg.downAfter ?? 3500),
    log,
  });
  await coordinator.start();
  const mesh = await startMeshCoordinator(coordinator, meshSettings, log);
  const { server, port } = await startGrpcServer(coordinator, listen, log, mesh);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(stateDir, 'coordinator.json'), JSON.stringify({ pid: process.pid, listen, port, nats }) + '\n');
  log.info('coordinator listening', { listen, port, nats });
  return untilSignal(async () => {
    await new Promise<void>((r) => server.tryShutdown(() => r()));
    await mesh.close();
    await coordinator.close();
  });
}

export async function runAgent(f: AgentFlags): Promise<number> {
  const cfg = readConfig(f.config, agentConfigSchema);
  const node = f.node ?? cfg.node ?? defaultNodeName();
  if (!isValidName(node)) throw new ExitError(ExitCode.Usage, `--node ${node}: must be letters, digits, "-" and "_" (at most 63)`);
  let labels = cfg.labels ?? {};
  if (f.labels !== undefined) {
    try {
      labels = parseLabelList(f.labels);
    } catch (err) {
      throw new ExitError(ExitCode.Usage, `--labels: ${(err as Error).message}`);
    }
  }
  const slots = f.slots !== undefined ? Number(f.slots) : (cfg.slots ?? 4);
  if (!Number.isInteger(slots) || slots < 1) throw new ExitError(ExitCode.Usage, `--slots ${f.slots}: expected a whole number >= 1`);
  const log = createLogger({ daemon: 'agent', node });
  const agent = new Agent({
    nats: f.nats ?? cfg.nats ?? 'nats://127.0.0.1:4222',
    node,
    labels,
    stateDir: f.stateDir ?? cfg.stateDir ?? defaultStateDir(),
    slots,
    standby: f.standby ?? cfg.standby ?? false,
    heartbeatMs: durationFlag('heartbeat', f.heartbeat, cfg.heartbeat ?? 500),
    leaseMs: durationFlag('lease', f.lease, cfg.lease ?? 1500),
    killGraceMs: durationFlag('kill-grace', f.killGrace, cfg.killGrace ?? 1500),
    outboxMaxBytes: cfg.outboxMaxBytes ?? 64 * 1024 * 1024,
    log,
    mesh: agentMeshOptions(f, cfg),
  });
  const started = agent.start();
  const code = untilSignal(() => agent.close());
  await started;
  return code;
}
