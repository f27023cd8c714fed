// Mesh settings of the two daemons, resolved from flags and config files (flags win) and
// checked before anything starts, so a typo in --mesh-cidr or --mesh-endpoint is one clear line.
import type { AgentOptions } from '../../agent/index.js';
import { agentDefaults } from '../../agent/defaults.js';
import { checkIfname } from '../../agent/wg/wg-argv.js';
import { coordinatorDefaults } from '../../coordinator/defaults.js';
import type { MeshCoordinatorSettings } from '../../coordinator/main.js';
import { parseMeshCidr } from '../../coordinator/mesh/allocator.js';
import type { AgentConfigFile, CoordinatorConfigFile } from '../../proto/config.js';
import { parseDuration } from '../../proto/duration.js';
import { meshEndpointSchema } from '../../proto/mesh.js';
import { ExitCode, ExitError } from '../exit.js';

export interface AgentMeshFlags {
  meshIf?: string;
  meshEndpoint?: string;
  meshPort?: string;
}

export interface CoordinatorMeshFlags {
  meshCidr?: string;
  meshKeepalive?: string;
}

/** The agent's mesh options, or undefined when no interface is configured (mesh off). */
export function agentMeshOptions(f: AgentMeshFlags, cfg: Partial<AgentConfigFile>): AgentOptions['mesh'] {
  const ifname = f.meshIf ?? cfg.meshIf;
  const endpoint = f.meshEndpoint ?? cfg.meshEndpoint;
  const port = f.meshPort !== undefined ? Number(f.meshPort) : (cfg.meshPort ?? agentDefaults.meshPort);
  if (ifname === undefined) {
    if (endpoint !== undefined || f.meshPort !== undefined) throw new ExitError(ExitCode.Usage, '--mesh-endpoint and --mesh-port need --mesh-if');
    return undefined;
  }
  try {
    checkIfname(ifname);
  } catch {
    throw new ExitError(ExitCode.Usage, `--mesh-if ${ifname}: 1-15 letters, digits, "_", "-" or ".", unique on the machine`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ExitError(ExitCode.Usage, `--mesh-port ${f.meshPort}: expected a UDP port 1-65535`);
  if (endpoint !== undefined && !meshEndpointSchema.safeParse(endpoint).success) {
    throw new ExitError(ExitCode.Usage, `--mesh-endpoint ${endpoint}: expected IP:PORT with a literal IP address (e.g. 192.0.2.10:51820)`);
  }
  return { ifname, listenPort: port, ...(endpoint === undefined ? {} : { endpoint }) };
}

export function coordinatorMeshSettings(f: CoordinatorMeshFlags, cfg: Partial<CoordinatorConfigFile>): MeshCoordinatorSettings {
  const cidr = f.meshCidr ?? cfg.meshCidr ?? coordinatorDefaults.meshCidr;
  try {
    parseMeshCidr(cidr);
  } catch (err) {
    throw new ExitError(ExitCode.Usage, `--mesh-cidr: ${(err as Error).message}`);
  }
  let keepaliveMs = cfg.meshKeepalive ?? coordinatorDefaults.meshKeepaliveS * 1000;
  if (f.meshKeepalive !== undefined) {
    const ms = parseDuration(f.meshKeepalive);
    if (ms === undefined) throw new ExitError(ExitCode.Usage, `--mesh-keepalive ${f.meshKeepalive}: expected a duration like 25s (0 turns it off)`);
    keepaliveMs = ms;
  }
  const keepaliveS = Math.round(keepaliveMs / 1000);
  if (keepaliveS > 65535 || (keepaliveMs > 0 && keepaliveS === 0)) throw new ExitError(ExitCode.Usage, '--mesh-keepalive: whole seconds between 1s and 65535s, or 0 for off');
  return { cidr, keepaliveS };
}
