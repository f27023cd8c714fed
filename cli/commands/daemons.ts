// `meshrun coordinator` and `meshrun agent`: read the config file, hand flags and file to the
// daemon's entry (agent/main.ts, coordinator/main.ts), and stop it on SIGINT/SIGTERM (once).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentOptions } from '../../agent/index.js';
import { resolveAgentOptions, runAgentDaemon, type AgentFlags } from '../../agent/main.js';
import { resolveCoordinatorOptions, runCoordinatorDaemon, type CoordinatorFlags } from '../../coordinator/main.js';
import { agentConfigSchema, coordinatorConfigSchema } from '../../proto/config.js';
import { defaultNodeName, defaultStateDir, readConfig } from '../config.js';
import { coordinatorAddress } from '../rpc-client.js';
import { ExitCode, ExitError } from '../exit.js';
import { enrollAgent, enrolledPaths } from './join.js';
import { agentMeshOptions, coordinatorMeshSettings } from './mesh-daemons.js';

export type { AgentFlags, CoordinatorFlags };

export async function runCoordinator(flags: CoordinatorFlags): Promise<number> {
  const file = readConfig(flags.config, coordinatorConfigSchema);
  const options = resolveCoordinatorOptions({
    flags,
    file,
    machine: { stateDir: () => join(defaultStateDir(), 'coordinator') },
    mesh: () => coordinatorMeshSettings(flags, file),
  });
  return runCoordinatorDaemon(options, untilSignal);
}

export async function runAgent(flags: AgentFlags & { join?: string; coordinator?: string }): Promise<number> {
  const file = readConfig(flags.config, agentConfigSchema);
  let options = resolveAgentOptions({
    flags,
    file,
    machine: { node: defaultNodeName, stateDir: defaultStateDir },
    mesh: () => agentMeshOptions(flags, file),
  });
  // a token by environment keeps it out of argv (which every local user can read with ps)
  const token = flags.join ?? process.env.MESHRUN_JOIN_TOKEN;
  if (token !== undefined && token !== '') {
    options = await enrollAgent(options, token, coordinatorAddress(flags.coordinator ?? (process.env.MESHRUN_COORDINATOR || file.coordinator)), flags.labels !== undefined || file.labels !== undefined);
  }
  options = withBusCredential(options, flags.insecure ?? file.insecure ?? false);
  return runAgentDaemon(options, untilSignal);
}

/**
 * The agent's bus credential: the one named, else the one enrollment stored in the state dir;
 * without one it refuses to start unless told --insecure (and then says so at every start).
 */
function withBusCredential(o: AgentOptions, insecure: boolean): AgentOptions {
  if (o.natsAuth?.credsFile) return o;
  const enrolled = enrolledPaths(o.stateDir);
  if (existsSync(enrolled.creds)) return { ...o, natsAuth: { credsFile: enrolled.creds, caFile: o.natsAuth?.caFile ?? enrolled.ca } };
  if (!insecure) {
    throw new ExitError(ExitCode.Usage, `the agent has no bus credential: enroll with --join TOKEN (an admin makes one with meshrun node token create), name one with --nats-creds, or run --insecure against a bus without authentication`);
  }
  o.log.warn('running --insecure: the bus connection has no credential; anyone on the bus can command this node');
  return o;
}

/** The process's one SIGINT/SIGTERM handler: the first signal closes the daemon, later ones are ignored. */
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
