// Where the CLI connects and with what: --coordinator / MESHRUN_COORDINATOR name the address,
// the client config (MESHRUN_CONFIG, else ~/.config/meshrun/config.yaml) and its context
// (--context, MESHRUN_CONTEXT, else currentContext) give the credential. Without a config
// file the CLI speaks plain gRPC, which only a coordinator started --insecure answers.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { clientConfigSchema, type ClientConfig, type ClientContext } from '../proto/client-config.js';
export { writeClientConfig } from '../lib/trust/client-config.js';
import { DEFAULT_COORDINATOR_ADDRESS } from '../proto/config.js';
import { readConfig } from './config.js';
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

export function resolveClientTarget(f: TargetFlags, env: NodeJS.ProcessEnv = process.env): ClientTarget {
  const explicit = env.MESHRUN_CONFIG;
  const path = explicit ?? defaultClientConfigPath();
  const override = f.coordinator ?? env.MESHRUN_COORDINATOR;
  if (!existsSync(path)) {
    if (explicit) throw new ExitError(ExitCode.Usage, `MESHRUN_CONFIG=${explicit}: no such file`);
    if (f.context) throw new ExitError(ExitCode.Usage, `--context ${f.context}: there is no client config (${path}); meshrun init and meshrun user add write one`);
    return { address: override ?? DEFAULT_COORDINATOR_ADDRESS, source: 'no client config (plain gRPC: only an --insecure coordinator answers)' };
  }
  const cfg = readConfig(path, clientConfigSchema) as ClientConfig;
  const name = f.context ?? env.MESHRUN_CONTEXT ?? cfg.currentContext;
  const ctx = cfg.contexts[name];
  if (!ctx) throw new ExitError(ExitCode.Usage, `${path}: no context ${name} (it has: ${Object.keys(cfg.contexts).join(', ') || 'none'})`);
  return { address: override ?? ctx.coordinator, tls: contextTls(path, ctx), source: `${path}, context ${name}` };
}

function contextTls(path: string, c: ClientContext): ClientTls {
  const read = (inline: string | undefined, file: string | undefined, what: string): Buffer => {
    if (inline !== undefined) return Buffer.from(inline);
    try {
      return readFileSync(file!);
    } catch (err) {
      throw new ExitError(ExitCode.Usage, `${path}: ${what} ${file}: ${(err as Error).message}`);
    }
  };
  return { ca: read(c.ca, c.caFile, 'caFile'), cert: read(c.cert, c.certFile, 'certFile'), key: read(c.key, c.keyFile, 'keyFile') };
}
