// A job page's live feed as server-sent events: the job as it changes (stages, attempts,
// handoffs, the authoritative node), its log across every stage and handoff (the FollowLogs
// path), each handoff marked where the next stage's log begins, per-host playbook progress,
// and `end` once the job has ended and every byte is out. Each log event's id is the resume
// point (bytes held per attempt): a browser reconnecting sends it back as Last-Event-ID and
// gets the rest, without a gap or a byte twice.
import type { ServerResponse } from 'node:http';
import type { LogEventMsg } from '../../proto/grpc.js';
import { parseEventLine } from '../../proto/ansible-events.js';
import type { JobRecord } from '../../proto/records.js';
import { formatResumeId, parseResumeId, WebLimits } from '../../proto/web.js';
import type { Logger } from '../../lib/log.js';
import type { Coordinator } from '../coordinator.js';
import { followJobLogs } from '../grpc-server.js';
import { initialRunProgress, reduceRunProgress, type RunProgress } from './playbook-hosts.js';
import { jobView } from './views.js';

const PING_MS = 15_000;
const PROGRESS_FLUSH_MS = 300;

export interface JobStreamOptions {
  c: Coordinator;
  job: JobRecord;
  /** The Last-Event-ID, already checked against resumeIdSchema. */
  resume: string;
  res: ServerResponse;
  signal: AbortSignal;
  log: Logger;
}

/** The handoff that moved the job to this stage attempt, if one did. */
function handoffInto(job: JobRecord, stage: string, attempt: number) {
  const h = job.handoffs.find((x) => x.to.stage === stage && x.to.attempt === attempt);
  return h ? { fromStage: h.from.stage, fromAttempt: h.from.attempt, fromNode: h.from.node, toNode: h.to.node, atMs: h.at, runDir: h.to.runDir } : null;
}

export async function streamJob(o: JobStreamOptions): Promise<void> {
  const { c, res, signal } = o;
  let job = o.job;
  const index = new Map(job.spec.stages.map((s, i) => [s.name, i]));
  // bytes held per attempt, keyed by stage index (what the resume id carries)
  const held = new Map<string, { stage: number; attempt: number; offset: number }>();
  const have: Record<string, number> = {};
  for (const h of parseResumeId(o.resume).values()) {
    const name = job.spec.stages[h.stage]?.name;
    if (name === undefined) continue;
    held.set(`${h.stage}/${h.attempt}`, h);
    have[`${name}/${h.attempt}`] = h.offset;
  }

  const drop = new AbortController();
  signal.addEventListener('abort', () => drop.abort(), { once: true });
  const write = (text: string): void => {
    if (drop.signal.aborted) return;
    res.write(text);
    // a browser that does not read: dropped, it comes back where it was
    if (res.writableLength > WebLimits.streamBufferMaxBytes) {
      o.log.warn('web stream dropped: the browser reads too slowly', { job: job.id, buffered: res.writableLength });
      drop.abort();
      res.destroy();
    }
  };
  const send = (event: string, data: unknown, id?: string): void => write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  write('retry: 2000\n\n');
  send('job', jobView(job));

  const onJob = (changed: JobRecord): void => {
    if (changed.id !== job.id) return;
    job = changed;
    send('job', jobView(changed));
  };
  c.changes.on('job', onJob);
  const ping = setInterval(() => write(': ping\n\n'), PING_MS);

  const progress = new Map<string, RunProgress>();
  const dirty = new Set<string>();
  const flush = (): void => {
    for (const key of dirty) {
      const [stage, attempt] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
      const p = progress.get(key)!;
      send('progress', { stage, attempt, ...p.progress, hosts: p.hosts });
    }
    dirty.clear();
  };
  const flusher = setInterval(flush, PROGRESS_FLUSH_MS);

  const onLog = (ev: LogEventMsg): void => {
    if (ev.event === 'header') {
      const h = ev.header;
      send('header', { stage: h.stage, attempt: h.attempt, node: h.node, handoff: handoffInto(job, h.stage, h.attempt) });
    } else if (ev.event === 'data') {
      const d = ev.data;
      const i = index.get(d.stage);
      if (i === undefined) return;
      const key = `${i}/${d.attempt}`;
      held.set(key, { stage: i, attempt: d.attempt, offset: d.offset + d.data.length });
      send('log', { stage: d.stage, attempt: d.attempt, offset: d.offset, data: Buffer.from(d.data).toString('base64') }, formatResumeId(held.values()));
    } else if (ev.event === 'gap') {
      const g = ev.gap;
      const i = index.get(g.stage);
      if (i === undefined) return;
      held.set(`${i}/${g.attempt}`, { stage: i, attempt: g.attempt, offset: g.to });
      send('gap', { stage: g.stage, attempt: g.attempt, from: g.from, to: g.to }, formatResumeId(held.values()));
    } else if (ev.event === 'playbook') {
      const p = ev.playbook;
      const parsed = parseEventLine(p.json);
      if (!parsed.ok) return;
      const key = `${p.stage}/${p.attempt}`;
      progress.set(key, reduceRunProgress(progress.get(key) ?? initialRunProgress(), parsed.event));
      dirty.add(key);
    }
  };

  try {
    const final = await followJobLogs(c, job.id, { follow: true, have, send: onLog, signal: drop.signal });
    flush();
    if (!drop.signal.aborted) send('end', jobView(final));
  } finally {
    clearInterval(ping);
    clearInterval(flusher);
    c.changes.off('job', onJob);
    if (!res.destroyed) res.end();
  }
}
