// Where the CLI connects and with what: --coordinator / MESHRUN_COORDINATOR name the address,
// the client config (MESHRUN_CONFIG, else ~/.config/meshrun/config.yaml) and its context
// (--context, MESHRUN_CONTEXT, else currentContext) give the credential. Without a config
// file the CLI speaks plain gRPC, which only a coordinator started --insecure answers
// (client-target.ts decides that case without loading the reader here).
import { readFileSync } from 'node:fs';
import { clientConfigSchema, type ClientConfig, type ClientContext } from '../proto/client-config.js';
import { readConfig } from './config.js';
import { ExitCode, ExitError } from './exit.js';
import { defaultClientConfigPath, targetWithoutConfig, type ClientTarget, type ClientTls, type TargetFlags } from './client-target.js';

export function resolveClientTarget(f: TargetFlags, env: NodeJS.ProcessEnv = process.env): ClientTarget {
  const plain = targetWithoutConfig(f, env);
  if (plain) return plain;
  const path = env.MESHRUN_CONFIG ?? defaultClientConfigPath();
  const cfg = readConfig(path, clientConfigSchema) as ClientConfig;
  const name = f.context ?? env.MESHRUN_CONTEXT ?? cfg.currentContext;
  const ctx = cfg.contexts[name];
  if (!ctx) throw new ExitError(ExitCode.Usage, `${path}: no context ${name} (it has: ${Object.keys(cfg.contexts).join(', ') || 'none'})`);
  return { address: f.coordinator ?? env.MESHRUN_COORDINATOR ?? ctx.coordinator, tls: contextTls(path, ctx), source: `${path}, context ${name}` };
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
