// `meshrun coordinator` and `meshrun agent`: read the config file, hand flags and file to the
// daemon's entry (agent/main.ts, coordinator/main.ts), and stop it on SIGINT/SIGTERM (once).
import { join } from 'node:path';
import { resolveAgentOptions, runAgentDaemon, type AgentFlags } from '../../agent/main.js';
import { resolveCoordinatorOptions, runCoordinatorDaemon, type CoordinatorFlags } from '../../coordinator/main.js';
import { agentConfigSchema, coordinatorConfigSchema } from '../../proto/config.js';
import { defaultNodeName, defaultStateDir, readConfig } from '../config.js';
import { coordinatorAddress, MeshrunClient } from '../client.js';
import { ExitCode } from '../exit.js';
import { enrollAgent } from './join.js';
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
  if (flags.join !== undefined) {
    const client = new MeshrunClient(coordinatorAddress(flags.coordinator));
    try {
      options = await enrollAgent(options, flags.join, client, flags.labels !== undefined || file.labels !== undefined);
    } finally {
      client.close();
    }
  }
  return runAgentDaemon(options, untilSignal);
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
