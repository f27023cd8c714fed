// Which coordinator the CLI talks to and with what credential, as far as that is known without
// a client config file: a CLI without one starts without the YAML parser and the config schema.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_COORDINATOR_ADDRESS } from '../proto/defaults.js';
import { ExitCode, ExitError } from './exit.js';

export interface ClientTls {
  ca: Buffer;
  /** Absent only for Join, which authenticates with its token. */
  cert?: Buffer;
  key?: Buffer;
}

export interface ClientTarget {
  address: string;
  /** Absent: plain gRPC (a coordinator started --insecure). */
  tls?: ClientTls;
  /** Where the credential came from, for error messages. */
  source: string;
}

export interface TargetFlags {
  coordinator?: string;
  context?: string;
}

export function defaultClientConfigPath(): string {
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'meshrun', 'config.yaml');
}

/** The plain-gRPC target when there is no client config file; undefined when there is one to read. */
export function targetWithoutConfig(f: TargetFlags, env: NodeJS.ProcessEnv): ClientTarget | undefined {
  const explicit = env.MESHRUN_CONFIG;
  const path = explicit ?? defaultClientConfigPath();
  if (existsSync(path)) return undefined;
  if (explicit) throw new ExitError(ExitCode.Usage, `MESHRUN_CONFIG=${explicit}: no such file`);
  if (f.context) throw new ExitError(ExitCode.Usage, `--context ${f.context}: there is no client config (${path}); meshrun init and meshrun user add write one`);
  return { address: f.coordinator ?? env.MESHRUN_COORDINATOR ?? DEFAULT_COORDINATOR_ADDRESS, source: 'no client config (plain gRPC: only an --insecure coordinator answers)' };
}

/** resolveClientTarget (client-config.ts), loading the config reader only when there is a file. */
export async function clientTarget(f: TargetFlags, env: NodeJS.ProcessEnv = process.env): Promise<ClientTarget> {
  return targetWithoutConfig(f, env) ?? (await import('./client-config.js')).resolveClientTarget(f, env);
}
