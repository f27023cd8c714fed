// `meshrun watch`: a terminal dashboard. Nodes and their state, running and recently
// ended jobs with their current stage, node and playbook progress, and the tail of one
// job's log where every stage start is a marker line that says which node runs it now,
// so a quiet bastion after a handoff reads as "running there", not as "broken".
// On a TTY it redraws on the alternate screen until q / Ctrl-C; otherwise (or with
// --once) it prints one plain-text frame and exits.
import { StringDecoder } from 'node:string_decoder';
import * as grpc from '@grpc/grpc-js';
import type { HandoffMsg, JobMsg, LogEventMsg, NodeMsg } from '../../proto/grpc.js';
import { parseEventLine } from '../../proto/ansible-events.js';
import { formatDuration, parseDuration } from '../../proto/duration.js';
import { initialProgress, reduceProgress, renderProgressLine, type ProgressState } from '../../agent/ansible/progress.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode, ExitError } from '../exit.js';
import { currentStage, nodesTable, table } from '../format.js';

export interface WatchOptions {
  job?: string;
  interval?: string;
  once?: boolean;
  lines?: string;
}

const TERMINAL_JOB = new Set(['succeeded', 'failed', 'cancelled', 'timeout', 'lost']);
const RECENT_ENDED = 5;
const MAX_ACTIVE_SHOWN = 12;
const DEFAULT_LINES_ONCE = 20;
const TAIL_KEEP_TTY = 500;
const ONCE_STREAM_TIMEOUT_MS = 15_000;
const RETRY_MAX_MS = 2000;
/** `have` offset that tells the coordinator "send no log bytes of this attempt". */
const SKIP_BYTES = 2 ** 50;

// ---------------------------------------------------------------------------------
// Text hygiene: log bytes and coordinator strings never reach the terminal raw.

const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]?/g;
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f\u0080-\u009f]/g;

/** One printable line: escape sequences and control characters removed, tabs expanded, a `\r` keeps what was drawn last. */
export function cleanLine(raw: string): string {
  let s = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const cr = s.lastIndexOf('\r');
  if (cr >= 0) s = s.slice(cr + 1);
  s = s.replace(ESCAPES, '').replace(CONTROLS, '');
  if (!s.includes('\t')) return s;
  let out = '';
  for (const ch of s) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}

function fit(s: string, width: number | undefined): string {
  if (width === undefined) return s;
  const cps = [...s];
  return cps.length <= width ? s : cps.slice(0, Math.max(0, width - 1)).join('') + '…';
}

// ---------------------------------------------------------------------------------
// The log tail: bounded lines plus stage markers.

export type TailEntry =
  | { kind: 'stage'; stage: string; attempt: number; node: string; prevNode: string; prevStage: string; failover: boolean }
  /** `ctx`: the marker the line belongs under (its stage's header, or the switch back to it). */
  | { kind: 'line'; key: string; text: string; ctx: TailEntry | undefined }
  | { kind: 'switch'; stage: string; attempt: number; node: string }
  | { kind: 'end'; job: JobMsg };

export class LogTail {
  readonly entries: TailEntry[] = [];
  private readonly decoders = new Map<string, StringDecoder>();
  private readonly partial = new Map<string, string>();
  private readonly nodeOf = new Map<string, string>();
  private readonly seen = new Set<string>();
  private readonly attemptNodes = new Map<string, string>();
  private lastNode = '';
  private lastStage = '';
  private lastKey = '';
  private ctx: TailEntry | undefined;

  constructor(readonly max: number) {}

  has(stage: string, attempt: number): boolean {
    return this.seen.has(`${stage}/${attempt}`);
  }

  header(stage: string, attempt: number, node: string): void {
    const key = `${stage}/${attempt}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.nodeOf.set(key, node);
    const earlier = this.attemptNodes.get(stage);
    this.ctx = { kind: 'stage', stage, attempt, node, prevNode: this.lastNode, prevStage: this.lastStage, failover: earlier !== undefined && earlier !== node };
    this.push(this.ctx);
    this.attemptNodes.set(stage, node);
    this.lastNode = node;
    this.lastStage = stage;
    this.lastKey = key;
  }

  data(stage: string, attempt: number, bytes: Buffer): void {
    const key = `${stage}/${attempt}`;
    if (!this.seen.has(key)) this.header(stage, attempt, '');
    let dec = this.decoders.get(key);
    if (!dec) this.decoders.set(key, (dec = new StringDecoder('utf8')));
    const text = (this.partial.get(key) ?? '') + dec.write(bytes);
    const lines = text.split('\n');
    this.partial.set(key, lines.pop() ?? '');
    if (lines.length > 0 && key !== this.lastKey) {
      // parallel stages interleave: say whose lines follow
      this.ctx = { kind: 'switch', stage, attempt, node: this.nodeOf.get(key) ?? '' };
      this.push(this.ctx);
      this.lastKey = key;
    }
    for (const l of lines) this.push({ kind: 'line', key, text: cleanLine(l), ctx: this.ctx });
  }

  end(job: JobMsg): void {
    this.push({ kind: 'end', job });
  }

  /**
   * The last `n` entries, with the line still being written (no newline yet) at the end.
   * When the marker of the first line shown has scrolled out, it stays pinned as the
   * first row: the tail always says which stage and node the lines below come from.
   */
  tail(n: number): TailEntry[] {
    if (n <= 0) return [];
    const all = [...this.entries];
    const open = this.partial.get(this.lastKey);
    if (open && all[all.length - 1]?.kind !== 'end') all.push({ kind: 'line', key: this.lastKey, text: cleanLine(open), ctx: this.ctx });
    const window = all.slice(-n);
    const first = window[0];
    if (n > 1 && first?.kind === 'line' && first.ctx && !window.includes(first.ctx)) return [first.ctx, ...window.slice(1)];
    return window;
  }

  private push(e: TailEntry): void {
    this.entries.push(e);
    if (this.entries.length > this.max) this.entries.splice(0, this.entries.length - this.max);
  }
}

function handoffTo(job: JobMsg | undefined, stage: string, attempt: number): HandoffMsg | undefined {
  return job?.handoffs.find((h) => h.toStage === stage && h.toAttempt === attempt);
}

/** The marker drawn where a stage attempt begins: a handoff when the node changes. */
export function markerText(e: Extract<TailEntry, { kind: 'stage' }>, job: JobMsg | undefined): string {
  const node = e.node || '?';
  const where = `stage ${e.stage} now on ${node} (attempt ${e.attempt})`;
  let text: string;
  if (e.failover) text = `failover: ${where}`;
  else if (e.prevNode && e.node && e.prevNode !== e.node) text = `handoff: ${where}, after ${e.prevStage} on ${e.prevNode}`;
  else text = `stage ${e.stage} on ${node} (attempt ${e.attempt})`;
  text += ` · authoritative node: ${node}`;
  const h = handoffTo(job, e.stage, e.attempt);
  if (h?.toRunDir && h.toNode === e.node) text += ` · runner files on ${h.toNode}: ${h.toRunDir}`;
  return `── ${text} ──`;
}

function exitText(c: number | null | undefined): string {
  return c === null || c === undefined ? '' : ` (exit ${c})`;
}

function entryText(e: TailEntry, job: JobMsg | undefined): string {
  switch (e.kind) {
    case 'stage':
      return markerText(e, job);
    case 'switch':
      return `·· ${e.stage}${e.node ? ` on ${e.node}` : ''} (attempt ${e.attempt}) ··`;
    case 'line':
      return e.text;
    case 'end':
      return `── job ${e.job.id} ${e.job.state}${exitText(e.job.exitCode)}${e.job.reason ? `: ${e.job.reason}` : ''} ──`;
  }
}

// ---------------------------------------------------------------------------------
// One gRPC log stream per job: the selected job's feeds the tail; the others only carry
// playbook events (their log bytes are skipped with `have`) for the progress lines.

interface StageProgress {
  attempt: number;
  state: ProgressState;
}

export class JobStream {
  readonly progress = new Map<string, StageProgress>();
  readonly have: Record<string, number> = {};
  ended: JobMsg | undefined;
  error: string | undefined;
  /** Gave up: a one-pass stream that failed, or the job is gone. */
  failed = false;
  connected = false;
  private call: grpc.ClientReadableStream<LogEventMsg> | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private delay = 250;
  private finish!: () => void;
  private fail!: (err: Error) => void;
  /** Settles when a one-pass stream (follow=false) has delivered everything. */
  readonly done: Promise<void>;

  constructor(
    private readonly client: MeshrunClient,
    readonly id: string,
    readonly tail: LogTail | undefined,
    private readonly follow: boolean,
    private readonly knownAttempts: () => string[],
    private readonly changed: () => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
    this.done.catch(() => undefined);
    this.open();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.call?.cancel();
    this.call = undefined;
    this.finish();
  }

  private open(): void {
    if (this.closed) return;
    const have = { ...this.have };
    if (!this.tail) for (const k of this.knownAttempts()) have[k] = SKIP_BYTES;
    const call = this.client.followLogs(this.id, this.follow, have);
    this.call = call;
    let sawEnd: JobMsg | undefined;
    call.on('data', (ev: LogEventMsg) => {
      if (call !== this.call) return;
      this.connected = true;
      this.error = undefined;
      this.delay = 250;
      this.onEvent(ev, (j) => (sawEnd = j));
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (call !== this.call || this.closed) return;
      this.connected = false;
      const mapped = err.code === grpc.status.CANCELLED ? this.client.unreachable(err) : this.client.mapError(err);
      this.error = mapped.message;
      this.changed();
      if (!this.follow || mapped.exitCode === ExitCode.NotFound) {
        this.closed = true;
        this.failed = true;
        this.fail(mapped);
        return;
      }
      this.reconnect();
    });
    call.on('end', () => {
      if (call !== this.call || this.closed) return;
      this.connected = false;
      if (!this.follow || (sawEnd && TERMINAL_JOB.has(sawEnd.state))) {
        if (sawEnd && TERMINAL_JOB.has(sawEnd.state)) {
          this.ended = sawEnd;
          this.tail?.end(sawEnd);
        }
        this.closed = true;
        this.call = undefined;
        this.finish();
        this.changed();
        return;
      }
      this.reconnect();
    });
  }

  private reconnect(delayMs = this.delay): void {
    this.call?.cancel();
    this.call = undefined;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.open(), delayMs);
    this.delay = Math.min(RETRY_MAX_MS, this.delay * 2);
  }

  private onEvent(ev: LogEventMsg, sawEnd: (j: JobMsg) => void): void {
    switch (ev.event) {
      case 'header': {
        const h = ev.header;
        const key = `${h.stage}/${h.attempt}`;
        if (this.tail) {
          this.have[key] ??= 0;
          this.tail.header(h.stage, h.attempt, h.node);
        } else if (this.have[key] === undefined) {
          // a new attempt began: reopen so its log bytes are skipped too
          this.have[key] = SKIP_BYTES;
          if (this.follow) this.reconnect(0);
        }
        break;
      }
      case 'data': {
        const d = ev.data;
        if (!this.tail) return;
        this.tail.data(d.stage, d.attempt, d.data);
        this.have[`${d.stage}/${d.attempt}`] = d.offset + d.data.length;
        break;
      }
      case 'playbook': {
        const p = parseEventLine(ev.playbook.json);
        if (!p.ok) return;
        const { stage, attempt } = ev.playbook;
        let sp = this.progress.get(stage);
        if (!sp || sp.attempt < attempt) this.progress.set(stage, (sp = { attempt, state: initialProgress() }));
        if (sp.attempt === attempt) sp.state = reduceProgress(sp.state, p.event);
        break;
      }
      case 'end':
        sawEnd(ev.end);
        break;
    }
    this.changed();
  }
}

// ---------------------------------------------------------------------------------
// The frame: pure, from a snapshot, so both modes and the tests share it.

export interface Snapshot {
  address: string;
  now: number;
  intervalMs?: number;
  nodes: NodeMsg[] | undefined;
  jobs: JobMsg[] | undefined;
  problem?: string;
  selectedId?: string;
  selectedAuto: boolean;
  selectedJob?: JobMsg;
  selectedProblem?: string;
  tail?: LogTail;
  progress: (jobId: string) => Map<string, StageProgress> | undefined;
}

export interface FrameSize {
  width?: number;
  height?: number;
  tailLines: number;
  tty: boolean;
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function isActive(j: JobMsg): boolean {
  return !TERMINAL_JOB.has(j.state);
}

const newest = (jobs: JobMsg[], at: (j: JobMsg) => number): JobMsg | undefined => [...jobs].sort((a, b) => at(b) - at(a))[0];

export function newestRunning(jobs: JobMsg[]): JobMsg | undefined {
  return newest(jobs.filter((j) => j.state === 'running'), (j) => j.startedAtMs || j.submittedAtMs);
}

/** Without --job: the most recently started running job, else the last one that started, else the last submitted. */
export function pickJob(jobs: JobMsg[]): JobMsg | undefined {
  return newestRunning(jobs) ?? newest(jobs.filter((j) => j.startedAtMs > 0), (j) => j.startedAtMs) ?? newest(jobs, (j) => j.submittedAtMs);
}

/** Active jobs (newest first), then the last few that ended. */
export function shownJobs(jobs: JobMsg[]): { active: JobMsg[]; moreActive: number; ended: JobMsg[] } {
  const active = jobs.filter(isActive).sort((a, b) => (b.startedAtMs || b.submittedAtMs) - (a.startedAtMs || a.submittedAtMs));
  const ended = jobs.filter((j) => !isActive(j)).sort((a, b) => b.endedAtMs - a.endedAtMs).slice(0, RECENT_ENDED);
  return { active: active.slice(0, MAX_ACTIVE_SHOWN), moreActive: Math.max(0, active.length - MAX_ACTIVE_SHOWN), ended };
}

function jobStages(j: JobMsg): { stage: string; node: string; note: string } {
  const running = j.stages.filter((s) => s.state === 'running');
  if (running.length > 0) return { stage: running.map((s) => s.name).join(','), node: running.map((s) => s.node || '?').join(','), note: '' };
  const s = currentStage(j);
  return { stage: s?.name ?? '-', node: s?.node || (j.state === 'queued' || s?.state === 'queued' ? '(waiting)' : '-'), note: s?.state === 'queued' ? s.reason : '' };
}

function jobsSection(snap: Snapshot): string[] {
  if (!snap.jobs) return ['JOBS', '  (unknown)'];
  const { active, moreActive, ended } = shownJobs(snap.jobs);
  const title = `JOBS (${active.length + moreActive} active${ended.length ? `, last ${ended.length} ended` : ''})`;
  const list = [...active, ...ended];
  if (list.length === 0) return [title, '  (no jobs yet)'];
  const rows = [['', 'ID', 'NAME', 'STATE', 'STAGE', 'NODE', 'TIME', 'NOTE']];
  for (const j of list) {
    const s = jobStages(j);
    const time = isActive(j)
      ? j.startedAtMs ? `running ${formatDuration(snap.now - j.startedAtMs)}` : `queued ${formatDuration(snap.now - j.submittedAtMs)}`
      : `ended ${formatDuration(Math.max(0, snap.now - j.endedAtMs))} ago`;
    const state = j.state + exitText(j.exitCode);
    rows.push([j.id === snap.selectedId ? '▸' : ' ', j.id, j.name || '-', state, s.stage, s.node, time, s.note || (isActive(j) ? '' : j.reason)]);
  }
  const lines = table(rows).trimEnd().split('\n');
  const out = [title, lines[0]!];
  list.forEach((j, i) => {
    out.push(lines[i + 1]!);
    const progress = snap.progress(j.id);
    if (!progress) return;
    for (const st of j.stages) {
      const sp = progress.get(st.name);
      // the progress of the stage's current attempt: running now, or how the last one ended
      if (!sp || (st.attempt && sp.attempt !== st.attempt) || (st.state !== 'running' && !sp.state.done)) continue;
      out.push(`    └ ${st.name}: ${renderProgressLine(sp.state)}`);
    }
  });
  if (moreActive > 0) out.push(`  … and ${moreActive} more active`);
  return out;
}

function nodesSection(snap: Snapshot): string[] {
  if (!snap.nodes) return ['NODES', '  (unknown)'];
  if (snap.nodes.length === 0) return ['NODES (0)', '  (no agents have joined)'];
  const counts = new Map<string, number>();
  for (const n of snap.nodes) counts.set(n.state, (counts.get(n.state) ?? 0) + 1);
  const summary = [...counts].map(([s, c]) => `${c} ${s}`).join(', ');
  return [`NODES (${summary})`, ...nodesTable(snap.nodes).trimEnd().split('\n')];
}

function logTitle(snap: Snapshot): string {
  if (!snap.selectedId) return 'LOG';
  const j = snap.selectedJob;
  const parts = [`LOG job ${snap.selectedId}${j?.name ? ` (${j.name})` : ''}`];
  if (snap.selectedAuto) parts.push(j && isActive(j) ? 'most recently started' : 'most recent');
  if (j) parts.push(j.state + exitText(j.exitCode));
  if (j?.authoritativeNode) parts.push(`authoritative node now: ${j.authoritativeNode}`);
  return parts.join(' · ');
}

export function renderFrame(snap: Snapshot, size: FrameSize): string[] {
  const width = size.width;
  const header = [`meshrun watch · coordinator ${snap.address} · ${clock(snap.now)}${snap.intervalMs ? ` · every ${formatDuration(snap.intervalMs)}` : ''}${size.tty ? ' · q or Ctrl-C quits' : ''}`];
  if (snap.problem) header.push(`! ${snap.problem}`);
  let top = [...header, '', ...nodesSection(snap), '', ...jobsSection(snap), ''];

  const body: string[] = [logTitle(snap)];
  if (snap.selectedProblem) body.push(`  (${snap.selectedProblem})`);
  if (!snap.selectedId) body.push('  (no jobs to show: submit one, or pass --job ID)');
  else if (snap.tail && snap.tail.tail(1).length === 0) body.push('  (no output yet)');

  let rows = snap.tail && snap.selectedId ? size.tailLines : 0;
  if (size.height !== undefined) {
    // the log keeps at least a few rows; the tables give way first
    const room = size.height - body.length - Math.min(rows, 6);
    if (top.length > room) {
      const keep = Math.max(1, room - 1);
      top = [...top.slice(0, keep), `  … ${top.length - keep} more lines (enlarge the terminal)`];
    }
    rows = Math.min(rows, Math.max(0, size.height - top.length - body.length));
  }
  const markerWidth = size.tty && width ? width - 1 : undefined;
  const tail = (snap.selectedId && snap.tail ? snap.tail.tail(rows) : []).map((e) => {
    const t = entryText(e, snap.selectedJob);
    return markerWidth && (e.kind === 'stage' || e.kind === 'end') ? t.padEnd(markerWidth, '─') : t;
  });
  const lines = [...top, ...body, ...tail].map((l) => fit(cleanLine(l).trimEnd(), width === undefined ? undefined : width - 1));
  return size.height === undefined ? lines : lines.slice(0, size.height);
}

// ---------------------------------------------------------------------------------
// The command.

function parseOptions(o: WatchOptions): { intervalMs: number; lines: number | undefined } {
  const intervalMs = parseDuration(o.interval ?? '1s');
  if (intervalMs === undefined || intervalMs < 100) throw new ExitError(ExitCode.Usage, `--interval: expected a duration of at least 100ms like "1s" or "500ms", got ${JSON.stringify(o.interval)}`);
  let lines: number | undefined;
  if (o.lines !== undefined) {
    lines = Number(o.lines);
    if (!Number.isInteger(lines) || lines < 1 || lines > 100_000) throw new ExitError(ExitCode.Usage, `--lines: expected a whole number from 1 to 100000, got ${JSON.stringify(o.lines)}`);
  }
  return { intervalMs, lines };
}

const attemptsOf = (j: JobMsg | undefined) => (): string[] => (j ? j.stages.flatMap((s) => s.attempts.map((a) => `${s.name}/${a.attempt}`)) : []);

export async function watch(client: MeshrunClient, o: WatchOptions): Promise<number> {
  const opts = parseOptions(o);
  const tty = !o.once && process.stdout.isTTY === true;
  await client.ready();
  return tty ? live(client, o.job, opts.intervalMs, opts.lines) : once(client, o.job, opts.lines ?? DEFAULT_LINES_ONCE);
}

async function once(client: MeshrunClient, jobId: string | undefined, lines: number): Promise<number> {
  let jobs = await client.listJobs();
  let selected = jobId ? (jobs.find((j) => j.id === jobId) ?? (await client.getJob(jobId))) : pickJob(jobs);
  const tail = new LogTail(Math.max(lines, 1));
  const streams = new Map<string, JobStream>();
  const noop = (): void => undefined;
  if (selected) streams.set(selected.id, new JobStream(client, selected.id, tail, false, () => [], noop));
  for (const j of shownJobs(jobs).active) {
    if (!streams.has(j.id)) streams.set(j.id, new JobStream(client, j.id, undefined, false, attemptsOf(j), noop));
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all([...streams.values()].map((s) => s.done)),
      new Promise((r) => (timer = setTimeout(r, ONCE_STREAM_TIMEOUT_MS))),
    ]);
  } finally {
    clearTimeout(timer);
    for (const s of streams.values()) s.close();
  }
  // the tables are at least as new as the log above them
  const [nodes, fresh] = await Promise.all([client.listNodes(), client.listJobs()]);
  jobs = fresh;
  if (selected) selected = jobs.find((j) => j.id === selected!.id) ?? selected;
  if (selected) {
    // a stage that started but printed nothing yet still gets its marker: that silence is the point
    const started = selected.stages
      .flatMap((s) => {
        const a = s.attempts[s.attempts.length - 1];
        return a && a.startedAtMs > 0 && a.state !== 'stale' && !tail.has(s.name, a.attempt) ? [{ stage: s.name, attempt: a.attempt, node: a.node, at: a.startedAtMs }] : [];
      })
      .sort((a, b) => a.at - b.at);
    for (const s of started) tail.header(s.stage, s.attempt, s.node);
  }
  const frame = renderFrame(
    {
      address: client.address,
      now: Date.now(),
      nodes,
      jobs,
      selectedId: selected?.id,
      selectedAuto: !jobId,
      selectedJob: selected,
      tail: selected ? tail : undefined,
      progress: (id) => streams.get(id)?.progress,
    },
    { tailLines: lines, tty: false },
  );
  process.stdout.write(frame.join('\n') + '\n');
  return ExitCode.Ok;
}

/** The terminal while the dashboard owns it; leave() is safe to call more than once. */
class Screen {
  private on = false;
  private raw = false;
  private readonly restoreOnExit = (): void => this.leave();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly input: NodeJS.ReadStream,
  ) {}

  enter(onKey: (key: string) => void): void {
    this.on = true;
    this.out.write('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J');
    process.once('exit', this.restoreOnExit);
    if (this.input.isTTY) {
      // keys instead of an echo that would scribble over the frame; Ctrl-C arrives as \x03
      this.input.setRawMode(true);
      this.raw = true;
      this.input.setEncoding('utf8');
      this.input.on('data', onKey);
      this.input.resume();
    }
  }

  draw(lines: string[]): void {
    if (!this.on) return;
    this.out.write('\x1b[H' + lines.map((l) => l + '\x1b[K').join('\r\n') + '\x1b[J');
  }

  leave(): void {
    if (!this.on) return;
    this.on = false;
    process.off('exit', this.restoreOnExit);
    if (this.raw) {
      try {
        this.input.setRawMode(false);
      } catch {
        // the terminal is gone
      }
      this.input.removeAllListeners('data');
      this.input.pause();
      this.raw = false;
    }
    try {
      this.out.write('\x1b[?25h\x1b[?1049l');
    } catch {
      // the terminal is gone
    }
  }
}

async function live(client: MeshrunClient, jobId: string | undefined, intervalMs: number, lines: number | undefined): Promise<number> {
  const out = process.stdout;
  const screen = new Screen(out, process.stdin);
  const streams = new Map<string, JobStream>();
  const tails = new Map<string, LogTail>();
  let nodes: NodeMsg[] | undefined;
  let jobs: JobMsg[] | undefined;
  let problem: string | undefined;
  let selectedProblem: string | undefined;
  let selected: JobMsg | undefined;
  let stopped = false;
  let tickTimer: NodeJS.Timeout | undefined;
  let drawTimer: NodeJS.Timeout | undefined;
  let lastDraw = 0;

  let quit!: (code: number) => void;
  let crash!: (err: unknown) => void;
  const finished = new Promise<number>((resolve, reject) => {
    quit = resolve;
    crash = reject;
  });

  const draw = (): void => {
    if (stopped) return;
    clearTimeout(drawTimer);
    drawTimer = undefined;
    lastDraw = Date.now();
    try {
      drawFrame();
    } catch (err) {
      crash(err); // reported after the terminal is restored, not lost on the alternate screen
    }
  };
  const drawFrame = (): void => {
    const height = out.rows || 24;
    const width = out.columns || 80;
    const selectedId = jobId ?? selected?.id;
    const stream = selectedId ? streams.get(selectedId) : undefined;
    const streamProblem = stream?.error && !stream.connected ? `log stream: ${stream.error}; reconnecting` : undefined;
    screen.draw(
      renderFrame(
        {
          address: client.address,
          now: Date.now(),
          intervalMs,
          nodes,
          jobs,
          problem,
          selectedId,
          selectedAuto: !jobId,
          selectedJob: selected,
          selectedProblem: selectedProblem ?? streamProblem,
          tail: selectedId ? tails.get(selectedId) : undefined,
          progress: (id) => streams.get(id)?.progress,
        },
        { width, height, tailLines: lines ?? height, tty: true },
      ),
    );
  };
  // log bytes arrive in bursts: redraw at most ten times a second
  const soon = (): void => {
    if (stopped || drawTimer) return;
    drawTimer = setTimeout(draw, Math.max(0, 100 - (Date.now() - lastDraw)));
  };

  const reconcile = (): void => {
    const want = new Map<string, boolean>(); // id -> carries the tail
    const selectedId = jobId ?? selected?.id;
    if (selectedId) want.set(selectedId, true);
    if (jobs) for (const j of shownJobs(jobs).active) if (!want.has(j.id)) want.set(j.id, false);
    const recentlyEnded = new Set(jobs ? shownJobs(jobs).ended.map((j) => j.id) : []);
    for (const [id, s] of streams) {
      const withTail = want.get(id);
      let drop: boolean;
      if (s.failed) drop = true; // opened again below
      else if (withTail === undefined) drop = !(s.ended && recentlyEnded.has(id)); // an ended stream keeps the final progress
      else drop = withTail !== (s.tail !== undefined);
      if (!drop) continue;
      s.close();
      streams.delete(id);
      if (id !== selectedId) tails.delete(id);
    }
    for (const [id, withTail] of want) {
      if (streams.has(id) || !jobs?.some((j) => j.id === id)) continue;
      let tail: LogTail | undefined;
      if (withTail) {
        // switching jobs starts that job's log from the start (the tail keeps only the last lines)
        tail = new LogTail(Math.max(lines ?? TAIL_KEEP_TTY, 1));
        tails.set(id, tail);
      }
      const get = (): JobMsg | undefined => jobs?.find((j) => j.id === id);
      streams.set(id, new JobStream(client, id, tail, true, () => attemptsOf(get())(), soon));
    }
  };

  const tick = async (): Promise<void> => {
    try {
      const [n, js] = await Promise.all([client.listNodes(), client.listJobs()]);
      nodes = n;
      jobs = js;
      problem = undefined;
      selectedProblem = undefined;
      if (jobId) {
        selected = js.find((j) => j.id === jobId);
        if (!selected) selectedProblem = `no job ${jobId} (yet)`;
      } else {
        // the newest running job; once it ends it stays on screen until another one runs
        const prev = selected?.id;
        selected = newestRunning(js) ?? js.find((j) => j.id === prev) ?? pickJob(js);
      }
      reconcile();
    } catch (err) {
      problem = `${(err as Error).message}; retrying every ${formatDuration(intervalMs)}`;
    }
    if (!stopped) {
      draw();
      tickTimer = setTimeout(() => void tick(), intervalMs);
    }
  };

  const onSignal = (sig: NodeJS.Signals): void => quit(sig === 'SIGINT' ? ExitCode.Ok : 128 + (sig === 'SIGTERM' ? 15 : 1));
  const onResize = (): void => draw();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  try {
    for (const s of signals) process.on(s, onSignal);
    out.on('resize', onResize);
    screen.enter((key) => {
      if (key.includes('\x03') || key === 'q' || key === 'Q') quit(ExitCode.Ok);
      else if (key === '\x0c') {
        out.write('\x1b[2J');
        draw();
      }
    });
    void tick();
    return await finished;
  } finally {
    stopped = true;
    clearTimeout(tickTimer);
    clearTimeout(drawTimer);
    for (const s of streams.values()) s.close();
    out.off('resize', onResize);
    for (const s of signals) process.off(s, onSignal);
    screen.leave();
    client.close();
  }
}
