// The agent daemon's entry: flags over the config file over `agentDefaults`, resolved once
// into the Agent's options (every flag checked before anything starts), then started.
import type { AgentConfigFile } from '../proto/config.js';
import { durationFlag } from '../proto/duration.js';
import { isValidName, parseLabelList } from '../proto/names.js';
import { NO_RESOURCES, type Resources } from '../proto/resources.js';
import { parseResourceList, toResources, type ResourcesSpec } from '../proto/resources-schema.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { lockStateDir } from './state-lock.js';
import { Agent, type AgentOptions } from './index.js';
import { agentDefaults } from './defaults.js';

export { agentDefaults };

/** `meshrun agent` flags, as commander hands them over. */
export interface AgentFlags {
  nats?: string;
  natsCreds?: string;
  natsCa?: string;
  node?: string;
  labels?: string;
  stateDir?: string;
  slots?: string;
  standby?: boolean;
  config?: string;
  heartbeat?: string;
  lease?: string;
  killGrace?: string;
  retainRunsFor?: string;
  meshIf?: string;
  meshEndpoint?: string;
  meshPort?: string;
  insecure?: boolean;
  reserve?: string;
}

/** Where the agent's settings come from; the CLI reads the file and knows the machine. */
export interface AgentSources {
  flags: AgentFlags;
  /** The --config file's values (flags win over them). */
  file: Partial<AgentConfigFile>;
  /** Defaults that depend on the machine: its host name, and whether it runs as root. */
  machine: { node(): string; stateDir(): string };
  /** The mesh settings, checked last (by the CLI's mesh module, which `install` shares). */
  mesh(): AgentOptions['mesh'];
}

/** Every setting resolved once; a bad flag is a usage error naming it. */
export function resolveAgentOptions({ flags: f, file, machine, mesh }: AgentSources): AgentOptions {
  const node = f.node ?? file.node ?? machine.node();
  if (!isValidName(node)) throw usage(`--node ${node}: must be letters, digits, "-" and "_" (at most 63)`);
  let labels = file.labels ?? {};
  if (f.labels !== undefined) {
    try {
      labels = parseLabelList(f.labels);
    } catch (err) {
      throw usage(`--labels: ${(err as Error).message}`);
    }
  }
  const slots = f.slots !== undefined ? Number(f.slots) : (file.slots ?? agentDefaults.slots);
  if (!Number.isInteger(slots) || slots < 1) throw usage(`--slots ${f.slots}: expected a whole number >= 1`);
  let reserve: Resources = file.reserve ? toResources(file.reserve) : NO_RESOURCES;
  if (f.reserve !== undefined) {
    try {
      reserve = toResources(parseResourceList(f.reserve));
    } catch (err) {
      throw usage(`--reserve ${f.reserve}: ${(err as Error).message} (expected cpu=N,memory=SIZE, e.g. cpu=2,memory=4G)`);
    }
  }
  return {
    nats: f.nats ?? file.nats ?? agentDefaults.nats,
    natsAuth: { credsFile: f.natsCreds ?? file.natsCreds, caFile: f.natsCa ?? file.natsCa },
    node,
    labels,
    stateDir: f.stateDir ?? file.stateDir ?? machine.stateDir(),
    slots,
    standby: f.standby ?? file.standby ?? agentDefaults.standby,
    heartbeatMs: durationFlag('heartbeat', f.heartbeat) ?? file.heartbeat ?? agentDefaults.heartbeatMs,
    leaseMs: durationFlag('lease', f.lease) ?? file.lease ?? agentDefaults.leaseMs,
    killGraceMs: durationFlag('kill-grace', f.killGrace) ?? file.killGrace ?? agentDefaults.killGraceMs,
    outboxMaxBytes: file.outboxMaxBytes ?? agentDefaults.outboxMaxBytes,
    retainRunsForMs: durationFlag('retain-runs-for', f.retainRunsFor) ?? file.retainRunsFor ?? agentDefaults.retainRunsForMs,
    log: createLogger({ daemon: 'agent', node }),
    mesh: mesh(),
    reserve,
    capacity: file.capacity ? overrideOf(file.capacity) : undefined,
  };
}

/** The config's `capacity`: only the dimensions it names replace detection. */
function overrideOf(spec: ResourcesSpec): Partial<Resources> {
  const r = toResources(spec);
  return { ...(spec.cpu !== undefined ? { cpu: r.cpu } : {}), ...(spec.memory !== undefined ? { memory: r.memory } : {}) };
}

/**
 * Starts the agent and closes it when `untilStopped` calls for it (the CLI: on SIGINT or
 * SIGTERM); its exit code is the caller's. Stopping is possible while the agent still connects.
 */
export async function runAgentDaemon(options: AgentOptions, untilStopped: (close: () => Promise<void>) => Promise<number>): Promise<number> {
  // before anything reads the runner files: a second agent on this directory stops here
  const lock = await lockStateDir(options.stateDir);
  const agent = new Agent(options);
  const started = agent.start();
  const code = untilStopped(() => agent.close());
  await started;
  const exit = await code;
  lock.release();
  return exit;
}


function usage(message: string): MeshrunError {
  return new MeshrunError(ErrorCode.Usage, message);
}
