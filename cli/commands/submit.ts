// `meshrun submit FILE.yaml` / `meshrun submit (--on NODE | --label k=v ... [--all]) -- ARGV...`
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isValidName, parseLabelList } from '../../proto/names.js';
import type { JobSpecInput } from '../../proto/job-spec.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode, ExitError } from '../exit.js';
import { loadJobFile, newJobId, validateSpec } from '../job-file.js';
import { followJob } from './logs.js';
import { packWorkspace } from '../../lib/workspace/index.js';
import { isMeshrunError } from '../../lib/errors.js';
import { Limits } from '../../lib/limits.js';

export async function packOrExit(dir: string): Promise<Awaited<ReturnType<typeof packWorkspace>>> {
  try {
    return await packWorkspace(dir, { maxBytes: Limits.workspaceMaxBytes });
  } catch (err) {
    if (isMeshrunError(err)) throw new ExitError(ExitCode.Usage, `--workspace ${dir}: ${err.message}`);
    throw new ExitError(ExitCode.Usage, `--workspace ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export interface SubmitOptions {
  on?: string;
  label?: string[];
  name?: string;
  id?: string;
  follow?: boolean;
  json?: boolean;
  timeout?: string;
  env?: string[];
  workspace?: string;
  /** With --follow: the job's bytes unchanged even on a terminal. */
  raw?: boolean;
  /** Command mode: secrets by name, each read from the environment variable of that name. */
  secret?: string[];
  /** Command mode with --label: run on every ready node with the labels. */
  all?: boolean;
  /** With --all: how many nodes run at once. */
  maxParallel?: string;
  /** With --all: node attempts that may fail (N, or P% of the nodes). */
  failTolerance?: string;
}

/** `on:` of a command-line job: one node, a node with the labels, or (--all) every one. */
function placementOf(o: SubmitOptions, labels: Record<string, string> | undefined): Record<string, unknown> {
  if (!o.all) {
    if (o.maxParallel !== undefined) throw new ExitError(ExitCode.Usage, '--max-parallel goes with --all');
    if (o.failTolerance !== undefined) throw new ExitError(ExitCode.Usage, '--fail-tolerance goes with --all');
    return o.on !== undefined ? { node: o.on } : { labels };
  }
  if (o.on !== undefined || !labels) throw new ExitError(ExitCode.Usage, '--all runs on every node with the labels: give --label k=v, not --on');
  const on: Record<string, unknown> = { labels, all: true };
  if (o.maxParallel !== undefined) {
    if (!/^\d+$/.test(o.maxParallel) || Number(o.maxParallel) < 1) throw new ExitError(ExitCode.Usage, `--max-parallel ${o.maxParallel}: expected a whole number of nodes, 1 or more`);
    on.maxParallel = Number(o.maxParallel);
  }
  if (o.failTolerance !== undefined) {
    const t = o.failTolerance;
    if (!/^\d+%?$/.test(t)) throw new ExitError(ExitCode.Usage, `--fail-tolerance ${t}: expected a whole number of nodes or a percentage of them such as 10%`);
    on.failTolerance = t.endsWith('%') ? t : Number(t);
  }
  return on;
}

export function buildSpec(args: string[], o: SubmitOptions): JobSpecInput {
  const adHoc = o.on !== undefined || (o.label?.length ?? 0) > 0;
  if (!adHoc && (o.all || o.maxParallel !== undefined || o.failTolerance !== undefined)) {
    throw new ExitError(ExitCode.Usage, '--all, --max-parallel and --fail-tolerance build a command-line job: give --label k=v and the command after --');
  }
  if (!adHoc) {
    if (args.length !== 1) throw new ExitError(ExitCode.Usage, 'submit takes one job file, or --on NODE / --label k=v followed by -- ARGV');
    return loadJobFile(args[0]!);
  }
  if (o.on !== undefined && (o.label?.length ?? 0) > 0) throw new ExitError(ExitCode.Usage, 'give --on or --label, not both');
  if (args.length === 0) throw new ExitError(ExitCode.Usage, 'nothing to run: put the command after --, e.g. meshrun submit --on alpha -- uptime');
  let labels: Record<string, string> | undefined;
  try {
    labels = o.label ? parseLabelList(o.label) : undefined;
  } catch (err) {
    throw new ExitError(ExitCode.Usage, `--label: ${(err as Error).message}`);
  }
  const env: Record<string, string> = {};
  for (const e of o.env ?? []) {
    const i = e.indexOf('=');
    if (i <= 0) throw new ExitError(ExitCode.Usage, `--env ${e}: expected NAME=VALUE`);
    env[e.slice(0, i)] = e.slice(i + 1);
  }
  const spec = {
    name: o.name ?? args[0]!.split('/').pop()!,
    stages: [
      {
        name: 'run',
        on: placementOf(o, labels),
        run: { command: args },
        ...(Object.keys(env).length ? { env } : {}),
        ...(o.timeout ? { timeout: o.timeout } : {}),
        ...(o.secret?.length ? { secrets: o.secret } : {}),
      },
    ],
    ...(o.secret?.length ? { secrets: Object.fromEntries(o.secret.map((n) => [n, { env: n }])) } : {}),
  };
  return validateSpec(spec, 'command line');
}

/**
 * The values of the secrets a spec declares, read here at submit time from the sources it
 * names (an environment variable, or a file relative to the job file): the values never go
 * in the job file, and only over TLS to the coordinator.
 */
export function readSecrets(spec: JobSpecInput, base: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, src] of Object.entries(spec.secrets ?? {})) {
    if ('env' in src) {
      const v = process.env[src.env];
      if (v === undefined) throw new ExitError(ExitCode.Usage, `secret ${name}: environment variable ${src.env} is not set`);
      out[name] = v;
    } else {
      try {
        out[name] = readFileSync(resolve(base, src.file), 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        throw new ExitError(ExitCode.Usage, `secret ${name}: ${src.file}: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

export async function submit(client: MeshrunClient, args: string[], o: SubmitOptions): Promise<number> {
  const spec = buildSpec(args, o);
  if (o.id !== undefined && !isValidName(o.id)) throw new ExitError(ExitCode.Usage, `--id ${o.id}: must be letters, digits, "-" and "_" (at most 63)`);
  const id = o.id ?? newJobId(spec.name);
  await client.ready();
  let workspace = '';
  if (o.workspace !== undefined) {
    const packed = await packOrExit(o.workspace);
    const ref = await client.putBlob(packed.archive, packed.sha256);
    workspace = ref.sha256;
    process.stderr.write(`workspace ${o.workspace}: ${packed.files} entries, ${packed.bytes} bytes, ${ref.existed ? 'already stored' : 'stored'} as ${ref.sha256.slice(0, 12)}\n`);
  }
  const secrets = readSecrets(spec, args.length === 1 && !o.on && !o.label?.length ? dirname(resolve(args[0]!)) : process.cwd());
  const { job, created } = await client.submit(id, JSON.stringify(spec), workspace, secrets);
  if (!created) process.stderr.write(`job ${id} already exists (submit is idempotent): not submitted again\n`);
  if (!o.follow) {
    process.stdout.write(o.json ? JSON.stringify({ id: job.id, created }) + '\n' : `${job.id}\n`);
    return ExitCode.Ok;
  }
  process.stderr.write(`job ${job.id} submitted\n`);
  return followJob(client, job.id, { json: o.json ?? false, raw: o.raw ?? false });
}
