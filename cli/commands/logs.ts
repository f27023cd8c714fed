// `meshrun logs JOB [-f] [--raw]`: the whole log from the start (stage headers on stderr,
// the bytes the processes wrote on stdout: unchanged to a pipe or file, escaped on a terminal
// unless --raw); with -f, follow across handoffs and coordinator restarts until the job ends,
// then exit with its code.
import type { JobMsg, LogEventMsg } from '../../proto/grpc.js';
import { parseEventLine } from '../../proto/ansible-events.js';
import { ProgressLine } from '../progress-line.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode } from '../exit.js';
import { escapeControls, jobEndText } from '../format.js';
import { jobJson } from '../job-json.js';
import { JobStream } from '../job-stream.js';
import { LogOutput } from '../log-output.js';

export interface LogsOptions {
  follow?: boolean;
  json?: boolean;
  /** The job's bytes unchanged even when stdout is a terminal. */
  raw?: boolean;
}

export interface FollowOptions {
  json: boolean;
  raw: boolean;
}

/** `logs -f` started while the coordinator restarts (or the lead changes hands) waits this long for one at start. */
const FOLLOW_CONNECT_MS = 15_000;

export async function logs(client: MeshrunClient, id: string, o: LogsOptions): Promise<number> {
  await client.ready(o.follow ? FOLLOW_CONNECT_MS : undefined);
  const fo = { json: o.json ?? false, raw: o.raw ?? false };
  if (o.follow) return followJob(client, id, fo);
  const end = await printLog(client, id, false, fo);
  return end ? ExitCode.Ok : ExitCode.Error;
}

/** Follows until the job ends; reconnects (without gaps or repeats) if the coordinator goes away. */
export async function followJob(client: MeshrunClient, id: string, o: FollowOptions): Promise<number> {
  const end = await printLog(client, id, true, o);
  return end ? exitCodeOf(end) : ExitCode.Error;
}

export function exitCodeOf(job: JobMsg): number {
  if (job.state === 'succeeded') return 0;
  const c = job.exitCode;
  return c === null || c === undefined || c === 0 ? 1 : c > 255 || c < 0 ? 1 : c;
}

/** Prints the stream; resolves with the job's end event. Only a lost coordinator is retried. */
async function printLog(client: MeshrunClient, id: string, follow: boolean, o: FollowOptions): Promise<JobMsg | undefined> {
  const json = o.json;
  const progress = new ProgressLine(!json && follow && process.stderr.isTTY === true);
  const output = new LogOutput({ tty: process.stdout.isTTY === true, raw: o.raw, write: (b) => void process.stdout.write(b) });
  let warned = false;
  const stream = new JobStream(client, id, {
    follow,
    retryable: (err) => err.exitCode === ExitCode.Unreachable,
    onEvent: (ev) => print(ev, json, progress, output),
    onDrop: (err) => {
      progress.clear();
      if (!err || warned) return;
      process.stderr.write(`meshrun: lost the coordinator (${client.address}); reconnecting...\n`);
      warned = true;
    },
  });
  try {
    return await stream.done;
  } finally {
    output.flush();
    progress.clear();
  }
}

function print(ev: LogEventMsg, json: boolean, progress: ProgressLine, output: LogOutput): void {
  if (ev.event !== 'playbook') progress.clear();
  if (ev.event === 'playbook') {
    const p = parseEventLine(ev.playbook.json);
    if (!p.ok) return;
    if (json) process.stdout.write(JSON.stringify({ type: 'event', stage: ev.playbook.stage, attempt: ev.playbook.attempt, event: p.event }) + '\n');
    else progress.update(ev.playbook.stage, p.event);
  } else if (ev.event === 'header') {
    const h = ev.header;
    if (json) process.stdout.write(JSON.stringify({ type: 'stage', stage: h.stage, attempt: h.attempt, node: h.node }) + '\n');
    else process.stderr.write(`${escapeControls(`==> stage ${h.stage} on ${h.node} (attempt ${h.attempt})`)}\n`);
  } else if (ev.event === 'data') {
    const d = ev.data;
    if (json) process.stdout.write(JSON.stringify({ type: 'log', stage: d.stage, attempt: d.attempt, offset: d.offset, text: d.data.toString('utf8') }) + '\n');
    else output.write(`${d.stage}/${d.attempt}`, d.data);
  } else if (ev.event === 'end') {
    output.flush();
    if (json) process.stdout.write(JSON.stringify({ type: 'end', job: jobJson(ev.end) }) + '\n');
    else process.stderr.write(`==> ${jobEndText(ev.end)}\n`);
  }
}
