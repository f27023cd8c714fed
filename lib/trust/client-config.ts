// Writes a client config (proto/client-config.ts) with one context and an inline credential:
// 0600, since it holds the user's private key.
import { stringify as toYaml } from 'yaml';
import type { ClientConfig, ClientContext } from '../../proto/client-config.js';
import { writeFileAtomic } from '../write-file-atomic.js';

export function writeClientConfig(path: string, context: string, c: ClientContext): void {
  const cfg: ClientConfig = { currentContext: context, contexts: { [context]: c } };
  writeFileAtomic(path, toYaml(cfg, { lineWidth: 0 }), 0o600);
}
