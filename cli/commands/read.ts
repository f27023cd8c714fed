// The read commands: `job`, `jobs`, `nodes` (tables, or --json), and the small
// write commands `cancel`, `drain`, `undrain`.
import { Limits } from '../../lib/limits.js';
import type { RpcClient } from '../rpc-client.js';
import { ExitCode, ExitError } from '../exit.js';
import { escapeControls, jobDetail, jobsTable, nodesTable } from '../format.js';
import { jobJson, nodeJson } from '../job-json.js';

export interface JsonOption {
  json?: boolean;
}

const out = (s: string): void => void process.stdout.write(s);

export async function jobCmd(client: RpcClient, id: string, o: JsonOption): Promise<number> {
  await client.ready();
  const j = await client.getJob(id);
  out(o.json ? JSON.stringify(jobJson(j), null, 2) + '\n' : jobDetail(j));
  return ExitCode.Ok;
}

/** `jobs` lists the newest this many unless --limit says otherwise (0: as many as one answer holds). */
export const JOBS_DEFAULT_LIMIT = 100;
/** The most one ListJobs answers: older ones are not listed. */
const JOBS_MAX_LIMIT = Limits.listJobsMax;

export async function jobsCmd(client: RpcClient, o: JsonOption & { limit?: string }): Promise<number> {
  const limit = o.limit === undefined ? JOBS_DEFAULT_LIMIT : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 0 || limit > JOBS_MAX_LIMIT) throw new ExitError(ExitCode.Usage, `--limit ${o.limit}: expected a whole number from 0 (as many as the coordinator lists, ${JOBS_MAX_LIMIT}) to ${JOBS_MAX_LIMIT}`);
  await client.ready();
  // one more than shown: whether older jobs exist, also from a coordinator that does not say (`more`)
  const page = await client.listJobPage(limit === 0 ? 0 : Math.min(limit + 1, JOBS_MAX_LIMIT));
  let jobs = page.jobs;
  const shown = limit === 0 ? JOBS_MAX_LIMIT : limit;
  if (jobs.length > shown || page.more) {
    jobs = jobs.slice(-shown);
    const how = limit === 0 || limit === JOBS_MAX_LIMIT ? `one listing holds at most ${JOBS_MAX_LIMIT}` : `--limit N shows more, --limit 0 up to ${JOBS_MAX_LIMIT}`;
    process.stderr.write(`meshrun: the newest ${jobs.length} jobs; there are older ones (${how})\n`);
  }
  out(o.json ? JSON.stringify(jobs.map(jobJson), null, 2) + '\n' : jobsTable(jobs));
  return ExitCode.Ok;
}

export async function nodesCmd(client: RpcClient, o: JsonOption): Promise<number> {
  await client.ready();
  const nodes = await client.listNodes();
  out(o.json ? JSON.stringify(nodes.map(nodeJson), null, 2) + '\n' : nodesTable(nodes));
  return ExitCode.Ok;
}

export async function cancelCmd(client: RpcClient, id: string, o: JsonOption): Promise<number> {
  await client.ready();
  const j = await client.cancelJob(id);
  out(o.json ? JSON.stringify(jobJson(j), null, 2) + '\n' : `${escapeControls(`cancel requested for ${j.id} (${j.state})`)}\n`);
  return ExitCode.Ok;
}

export async function drainCmd(client: RpcClient, name: string, drain: boolean, o: JsonOption): Promise<number> {
  await client.ready();
  const n = drain ? await client.drainNode(name) : await client.undrainNode(name);
  out(o.json ? JSON.stringify(nodeJson(n), null, 2) + '\n' : `${escapeControls(`${n.name}: ${n.state} (${n.running} running)`)}\n`);
  return ExitCode.Ok;
}
