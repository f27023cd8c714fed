// Config files for the daemons (YAML written by `meshrun install`), flags override; and the
// client config every CLI command reads first. They are read with js-yaml (YAML 1.2's core
// schema, as the yaml package reads job files): it loads and parses such a file in ~7 ms where
// yaml takes ~19, a tenth of a read command's start. yaml stays for job files (its errors point
// into the file) and for writing.
import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import type { z } from 'zod';
import { formatIssues } from '../proto/validation.js';
import { ExitCode, ExitError } from './exit.js';

/** A schema in classic zod or zod/mini: both parse the same way. */
interface ConfigSchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: z.core.$ZodIssue[] } };
}

export function readConfig<T>(path: string | undefined, schema: ConfigSchema<T>): Partial<T> {
  if (!path) return {};
  let doc: unknown;
  try {
    doc = loadYaml(readFileSync(path, 'utf8'), { schema: CORE_SCHEMA }) ?? {};
  } catch (err) {
    throw new ExitError(ExitCode.Usage, `${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = schema.safeParse(doc);
  if (!r.success) throw new ExitError(ExitCode.Usage, formatIssues(r.error).map((l) => `${path}: ${l}`).join('\n'));
  return r.data as Partial<T>;
}

/** `/var/lib/meshrun` as root, `$XDG_STATE_HOME/meshrun` otherwise. */
export function defaultStateDir(): string {
  if (process.getuid?.() === 0) return '/var/lib/meshrun';
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'meshrun');
}

export function defaultNodeName(): string {
  const h = hostname().split('.')[0]!.replace(/[^A-Za-z0-9_-]/g, '-');
  return /^[A-Za-z0-9]/.test(h) ? h.slice(0, 63) : `node-${h}`.slice(0, 63);
}
