// `meshrun retry JOB [--from STAGE] [--secrets-from FILE.yaml] [-f]`: a new run of an ended job
// (the same job id, its run number one up) that keeps the stages that succeeded and re-runs the rest.
import { dirname, resolve } from 'node:path';
import type { JobMsg } from '../../proto/grpc.js';
import type { MeshrunClient } from '../client.js';
import type { RpcClient } from '../rpc-client.js';
import { ExitCode, ExitError } from '../exit.js';
import { escapeControls } from '../format.js';
import { jobJson } from '../job-json.js';

export interface RetryOptions {
  from?: string;
  /** The job file whose `secrets:` sources the values are read from again (they were forgotten when the job ended). */
  secretsFrom?: string;
  follow?: boolean;
  json?: boolean;
  raw?: boolean;
}

/** The values of the secrets FILE declares, read from its sources as submit reads them. */
async function secretsOf(file: string): Promise<Record<string, string>> {
  const [{ loadJobFile }, { readSecrets }] = await Promise.all([import('../job-file.js'), import('./submit.js')]);
  const spec = loadJobFile(file);
  if (Object.keys(spec.secrets ?? {}).length === 0) throw new ExitError(ExitCode.Usage, `--secrets-from ${file}: the file declares no secrets`);
  return readSecrets(spec, dirname(resolve(file)));
}

/** What the new run re-runs, from the job's run record. */
export function rerunText(j: JobMsg): string {
  const run = (j.runs ?? []).find((r) => r.run === j.run);
  return `job ${j.id}: run ${j.run} started, re-running ${run?.rerun.join(', ') ?? '?'}`;
}

export async function retryCmd(client: RpcClient | MeshrunClient, id: string, o: RetryOptions): Promise<number> {
  const secrets = o.secretsFrom !== undefined ? await secretsOf(o.secretsFrom) : {};
  await client.ready();
  const j = await client.retryJob(id, o.from ?? '', secrets);
  if (!o.follow) {
    process.stdout.write(o.json ? JSON.stringify(jobJson(j), null, 2) + '\n' : `${escapeControls(rerunText(j))}\n`);
    return ExitCode.Ok;
  }
  process.stderr.write(`${escapeControls(rerunText(j))}\n`);
  const { followJob } = await import('./logs.js');
  return followJob(client as MeshrunClient, id, { json: o.json ?? false, raw: o.raw ?? false });
}
