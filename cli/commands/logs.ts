// `meshrun logs JOB [-f] [--raw]`: the whole log from the start (stage headers on stderr,
// the bytes the processes wrote on stdout: unchanged to a pipe or file, escaped on a terminal
// unless --raw); with -f, follow across handoffs and coordinator restarts until the job ends,
// then exit with its code. A stage on all nodes has each line prefixed with its node
// (`[web1] ...`); --node N keeps only the bytes of runs on node N.
import type { JobMsg, LogEventMsg } from '../../proto/grpc.js';
import { parseEventLine } from '../../proto/ansible-events.js';
import { ProgressLine } from '../progress-line.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode, ExitError } from '../exit.js';
import { escapeControls, jobEndText } from '../format.js';
import { jobJson } from '../job-json.js';
import { JobStream } from '../job-stream.js';
import { LogOutput } from '../log-output.js';
import { isValidName } from '../../proto/names.js';

export interface LogsOptions {
  follow?: boolean;
  json?: boolean;
  /** The job's bytes unchanged even when stdout is a terminal. */
  raw?: boolean;
  /** Only the runs on this node. */
  node?: string;
}

export interface FollowOptions {
  json: boolean;
  raw: boolean;
  node?: string;
}

/** `logs -f` started while the coordinator restarts (or the lead changes hands) waits this long for one at start. */
const FOLLOW_CONNECT_MS = 15_000;

export async function logs(client: MeshrunClient, id: string, o: LogsOptions): Promise<number> {
  await client.ready(o.follow ? FOLLOW_CONNECT_MS : undefined);
  if (o.node !== undefined && !isValidName(o.node)) throw new ExitError(ExitCode.Usage, `--node ${o.node}: not a node name (letters, digits, "-" and "_")`);
  const fo = { json: o.json ?? false, raw: o.raw ?? false, node: o.node };
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
  const view = new LogView(output, o.node);
  const stream = new JobStream(client, id, {
    follow,
    retryable: (err) => err.exitCode === ExitCode.Unreachable,
    onEvent: (ev) => print(ev, json, progress, view),
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
    view.flush();
    progress.clear();
  }
}

/** `attempt 3`, with `run 2` for a retried job's later run and `try 2` for a stage's retry. */
export function attemptText(h: { attempt: number; run?: number; tryNumber?: number }): string {
  return [`attempt ${h.attempt}`, ...((h.run ?? 1) > 1 ? [`run ${h.run}`] : []), ...((h.tryNumber ?? 1) > 1 ? [`try ${h.tryNumber}`] : [])].join(', ');
}

/** A fan-out's line of one node is cut into pieces of at most this many bytes, each prefixed: what is held per run stays bounded. */
const PREFIX_LINE_MAX_BYTES = 64 * 1024;

/**
 * Which node wrote each run's bytes (from the stream's headers), the --node filter, and the
 * `[node] ` prefix on every line of a fan-out's runs: their bytes interleave, so a run's
 * partial last line is held until its end arrives (or the output ends).
 */
export class LogView {
  private readonly nodeOf = new Map<string, string>();
  private readonly partial = new Map<string, { node: string; bytes: Buffer }>();

  constructor(
    readonly output: LogOutput,
    private readonly only: string | undefined,
  ) {}

  /** Remembers a run's node; false when --node leaves it out. */
  header(stage: string, attempt: number, node: string): boolean {
    this.nodeOf.set(`${stage}/${attempt}`, node);
    return this.shows(node);
  }

  nodeFor(stage: string, attempt: number, given: string): string {
    return given || this.nodeOf.get(`${stage}/${attempt}`) || '';
  }

  shows(node: string): boolean {
    return this.only === undefined || node === this.only;
  }

  /** One chunk of a run's bytes; `fanoutNode` set: each line prefixed with it. */
  write(key: string, bytes: Buffer, fanoutNode: string): void {
    if (!fanoutNode) return this.output.write(key, bytes);
    const held = this.partial.get(key);
    let buf = held ? Buffer.concat([held.bytes, bytes]) : bytes;
    const prefix = Buffer.from(`[${fanoutNode}] `);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0 && buf.length <= PREFIX_LINE_MAX_BYTES) break;
      const end = nl < 0 ? PREFIX_LINE_MAX_BYTES : nl + 1;
      this.output.write(key, Buffer.concat([prefix, buf.subarray(0, end), ...(nl < 0 ? [Buffer.from('\n')] : [])]));
      buf = buf.subarray(end);
    }
    if (buf.length > 0) this.partial.set(key, { node: fanoutNode, bytes: Buffer.from(buf) });
    else this.partial.delete(key);
  }

  /** The end of the output: held partial lines, each ended with a newline. */
  flush(): void {
    for (const [key, p] of this.partial) this.output.write(key, Buffer.concat([Buffer.from(`[${p.node}] `), p.bytes, Buffer.from('\n')]));
    this.partial.clear();
    this.output.flush();
  }
}

function print(ev: LogEventMsg, json: boolean, progress: ProgressLine, view: LogView): void {
  if (ev.event !== 'playbook') progress.clear();
  if (ev.event === 'playbook') {
    if (!view.shows(view.nodeFor(ev.playbook.stage, ev.playbook.attempt, ''))) return;
    const p = parseEventLine(ev.playbook.json);
    if (!p.ok) return;
    if (json) process.stdout.write(JSON.stringify({ type: 'event', stage: ev.playbook.stage, attempt: ev.playbook.attempt, event: p.event }) + '\n');
    else progress.update(ev.playbook.stage, p.event);
  } else if (ev.event === 'header') {
    const h = ev.header;
    if (!view.header(h.stage, h.attempt, h.node)) return;
    if (json) process.stdout.write(JSON.stringify({ type: 'stage', stage: h.stage, attempt: h.attempt, node: h.node, run: h.run || 1, try: h.tryNumber || 1, ...(h.fanout ? { fanout: true } : {}) }) + '\n');
    else process.stderr.write(`${escapeControls(`==> stage ${h.stage} on ${h.node} (${attemptText(h)})`)}\n`);
  } else if (ev.event === 'data') {
    const d = ev.data;
    const node = view.nodeFor(d.stage, d.attempt, d.node);
    if (!view.shows(node)) return;
    if (json) process.stdout.write(JSON.stringify({ type: 'log', stage: d.stage, attempt: d.attempt, ...(node ? { node } : {}), offset: d.offset, text: d.data.toString('utf8') }) + '\n');
    else view.write(`${d.stage}/${d.attempt}`, d.data, d.node);
  } else if (ev.event === 'gap') {
    const g = ev.gap;
    const node = view.nodeFor(g.stage, g.attempt, g.node);
    if (!view.shows(node)) return;
    if (json) process.stdout.write(JSON.stringify({ type: 'gap', stage: g.stage, attempt: g.attempt, ...(node ? { node } : {}), from: g.from, to: g.to }) + '\n');
    else {
      view.flush();
      process.stderr.write(`${escapeControls(`==> stage ${g.stage} (attempt ${g.attempt}${node ? `, ${node}` : ''}): bytes ${g.from}-${g.to} of its log are not on the bus (past the logs stream's limits, or not relayed yet)`)}\n`);
    }
  } else if (ev.event === 'end') {
    view.flush();
    if (json) process.stdout.write(JSON.stringify({ type: 'end', job: jobJson(ev.end) }) + '\n');
    else process.stderr.write(`==> ${jobEndText(ev.end)}\n`);
  }
}
