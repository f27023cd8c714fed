// `meshrun logs JOB [-f]`: the whole log from the start (stage headers on stderr,
// the bytes the processes wrote on stdout, unchanged); with -f, follow across
// handoffs and coordinator restarts until the job ends, then exit with its code.
import * as grpc from '@grpc/grpc-js';
import type { JobMsg, LogEventMsg } from '../../proto/grpc.js';
import { parseEventLine } from '../../proto/ansible-events.js';
import { ProgressLine } from '../progress-line.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode, ExitError } from '../exit.js';
import { jobJson } from '../job-json.js';

export interface LogsOptions {
  follow?: boolean;
  json?: boolean;
}

const RETRY_MAX_MS = 2000;

export async function logs(client: MeshrunClient, id: string, o: LogsOptions): Promise<number> {
  await client.ready();
  if (o.follow) return followJob(client, id, { json: o.json ?? false });
  const end = await streamOnce(client, id, false, {}, o.json ?? false);
  return end ? ExitCode.Ok : ExitCode.Error;
}

/** Follows until the job ends; reconnects (without gaps or repeats) if the coordinator goes away. */
export async function followJob(client: MeshrunClient, id: string, o: { json: boolean }): Promise<number> {
  const have: Record<string, number> = {};
  let delay = 100;
  let warned = false;
  for (;;) {
    try {
      const end = await streamOnce(client, id, true, have, o.json);
      if (end) return exitCodeOf(end);
    } catch (err) {
      if (!(err instanceof ExitError) || err.exitCode !== ExitCode.Unreachable) throw err;
      if (!warned) process.stderr.write(`meshrun: lost the coordinator (${client.address}); reconnecting...\n`);
      warned = true;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(RETRY_MAX_MS, delay * 2);
  }
}

export function exitCodeOf(job: JobMsg): number {
  if (job.state === 'succeeded') return 0;
  const c = job.exitCode;
  return c === null || c === undefined || c === 0 ? 1 : c > 255 || c < 0 ? 1 : c;
}

function streamOnce(client: MeshrunClient, id: string, follow: boolean, have: Record<string, number>, json: boolean): Promise<JobMsg | undefined> {
  return new Promise((resolve, reject) => {
    const call = client.followLogs(id, follow, have);
    let end: JobMsg | undefined;
    const progress = new ProgressLine(!json && follow && process.stderr.isTTY === true);
    call.on('data', (ev: LogEventMsg) => {
      if (ev.event !== 'playbook') progress.clear();
      if (ev.event === 'playbook') {
        const p = parseEventLine(ev.playbook.json);
        if (!p.ok) return;
        if (json) process.stdout.write(JSON.stringify({ type: 'event', stage: ev.playbook.stage, attempt: ev.playbook.attempt, event: p.event }) + '\n');
        else progress.update(ev.playbook.stage, p.event);
      } else if (ev.event === 'header') {
        const h = ev.header;
        if (json) process.stdout.write(JSON.stringify({ type: 'stage', stage: h.stage, attempt: h.attempt, node: h.node }) + '\n');
        else process.stderr.write(`==> stage ${h.stage} on ${h.node} (attempt ${h.attempt})\n`);
        have[`${h.stage}/${h.attempt}`] ??= 0;
      } else if (ev.event === 'data') {
        const d = ev.data;
        const key = `${d.stage}/${d.attempt}`;
        if (json) process.stdout.write(JSON.stringify({ type: 'log', stage: d.stage, attempt: d.attempt, offset: d.offset, text: d.data.toString('utf8') }) + '\n');
        else process.stdout.write(d.data);
        have[key] = d.offset + d.data.length;
      } else if (ev.event === 'end') {
        end = ev.end;
        if (json) process.stdout.write(JSON.stringify({ type: 'end', job: jobJson(ev.end) }) + '\n');
        else process.stderr.write(`==> job ${ev.end.id} ${ev.end.state}${ev.end.exitCode !== null && ev.end.exitCode !== undefined ? ` (exit ${ev.end.exitCode})` : ''}${ev.end.reason ? `: ${ev.end.reason}` : ''}\n`);
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.CANCELLED) reject(client.unreachable(err));
      else reject(client.mapError(err));
    });
    call.on('end', () => {
      progress.clear();
      resolve(end);
    });
  });
}
