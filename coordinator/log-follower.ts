// Streams a job's log to a client: every attempt's bytes from JetStream in order,
// a header when a new stage attempt begins, duplicates and already-held bytes
// skipped by offset; with follow, until the job has ended and every byte is out. A chunk
// whose subject names another node than the attempt's is not that attempt's: ignored.
// The logs stream is bounded (bytes and age, oldest dropped first), so an old job's log may be
// gone in part or whole: an agent relays an attempt's chunks in order, so a chunk that starts
// past what was sent means the bytes before it are gone (a gap event says which, then the
// chunk follows); bytes missing at the end are waited for COMPLETE_WAIT_MS after the last
// progress, then reported as a gap too, so a follow never waits for bytes nobody holds.
import { jetstreamManager, type ConsumerMessages, type JetStreamManager, type MsgRequest } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { logChunkHeaderSchema } from '../proto/bus.js';
import type { RunToken } from '../proto/names.js';
import { isTerminalJob, type JobRecord } from '../proto/records.js';
import { parseOutputSubject, Streams, Subjects } from '../proto/subjects.js';
import type { LogEventMsg } from '../proto/grpc.js';
import { relayedLogBytes } from '../lib/limits.js';
import { orderedConsumer } from '../lib/nats.js';

export interface FollowOptions {
  nc: NatsConnection;
  job: () => JobRecord;
  onJobChange: (fn: () => void) => () => void;
  follow: boolean;
  have: Record<string, number>;
  send: (ev: LogEventMsg) => void;
  signal: AbortSignal;
}

const COMPLETE_WAIT_MS = 10_000;
const EVENTS_WAIT_MS = 30_000;

/** One log chunk as either source hands it over; `pending` 0: nothing more is stored now. */
interface LogMsg {
  subject: string;
  data: Uint8Array;
  header(name: string): string | undefined;
  pending: number;
}

interface LogSource extends AsyncIterable<LogMsg> {
  stop(): void;
}

/**
 * The job's chunks in order: from an ordered consumer, or, when one cannot be made (nats-server
 * 2.9 on a cluster with a server down places it on that server now and then, and on a freshly
 * elected metadata leader, every time), by reading the stream message by message through its
 * leader, which is always there while the stream is.
 */
async function openSource(nc: NatsConnection, filter: string): Promise<LogSource> {
  let messages: ConsumerMessages;
  try {
    messages = await (await orderedConsumer(nc, Streams.logs, { filter_subjects: filter }, 3)).consume();
  } catch {
    return pollSource(await jetstreamManager(nc, { timeout: 3000 }), filter);
  }
  return {
    stop: () => messages.stop(),
    async *[Symbol.asyncIterator]() {
      for await (const m of messages) yield { subject: m.subject, data: m.data, header: (n) => m.headers?.get(n) || undefined, pending: m.info.pending };
    },
  };
}

function pollSource(jsm: JetStreamManager, filter: string): LogSource {
  let stopped = false;
  // the server (2.9 and later) reads `next_by_subj` on this request; the client's type lacks it
  const next = async (seq: number) => {
    for (;;) {
      try {
        return await jsm.streams.getMessage(Streams.logs, { seq, next_by_subj: filter } as unknown as MsgRequest);
      } catch {
        if (stopped) return null;
        // a stream electing its leader answers in a few seconds
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  return {
    stop: () => {
      stopped = true;
    },
    async *[Symbol.asyncIterator]() {
      let seq = 1;
      let cur = await next(seq);
      while (!stopped) {
        if (!cur) {
          await new Promise((r) => setTimeout(r, 250));
          cur = await next(seq);
          continue;
        }
        const after = await next(cur.seq + 1);
        const m = cur;
        yield { subject: m.subject, data: m.data, header: (n) => m.header?.get(n) || undefined, pending: after ? 1 : 0 };
        seq = m.seq + 1;
        cur = after;
      }
    },
  };
}

/** The node an attempt of the job ran on, per the job record. */
function attemptNode(job: JobRecord, t: RunToken): string | undefined {
  if (t.job !== job.id) return undefined;
  return job.stages.find((s) => s.name === t.stage)?.attempts.find((a) => a.attempt === t.attempt)?.node;
}

/** Resolves with the job as it was when the stream ended. */
export async function followLogs(o: FollowOptions): Promise<JobRecord> {
  const id = o.job().id;
  const delivered = new Map<string, number>(Object.entries(o.have));
  const headerSent = new Set<string>(Object.keys(o.have));
  const eventsDelivered = new Map<string, number>();
  const eventsPartial = new Map<string, string>();
  const jsm = await jetstreamManager(o.nc);
  const info = await jsm.streams.info(Streams.logs, { subjects_filter: Subjects.jobOutput(id) });
  const available = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  let caughtUp = available === 0;
  let messages: LogSource | undefined;
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((r) => (finish = r));

  const header = (key: string, stage: string, attempt: number): void => {
    if (headerSent.has(key)) return;
    headerSent.add(key);
    const s = o.job().stages.find((x) => x.name === stage);
    const a = s?.attempts.find((x) => x.attempt === attempt);
    // a stage on all nodes by its spec: an earlier run's attempts are one node's share too
    const fanout = o.job().spec.stages.find((x) => x.name === stage)?.on.all === true;
    o.send({ event: 'header', header: { stage, attempt, node: a?.node ?? '', run: a?.run ?? 1, tryNumber: a?.try ?? 1, fanout } });
  };

  const started = Date.now();
  /** The last time bytes were sent, or the job was seen ended and caught up: missing bytes are waited for from then. */
  let progressAt = started;
  let endedSeen = false;
  const gap = (stage: string, attempt: number, from: number, to: number, node: string): void => {
    o.send({ event: 'gap', gap: { stage, attempt, from, to, node } });
  };
  const logsComplete = (): boolean => {
    for (const s of o.job().stages) {
      for (const a of s.attempts) {
        // a log past its limit is relayed up to the limit, then a line saying so
        const relayed = a.logBytes === null ? 0 : relayedLogBytes(a.logBytes);
        if (relayed > 0 && (delivered.get(`${s.name}/${a.attempt}`) ?? 0) < relayed) return false;
      }
    }
    return true;
  };
  const complete = (): boolean => logsComplete() && eventsComplete();
  // A playbook's events are relayed beside its log and may be stored after its exit was: a follow
  // waits for as many bytes as the exit reported - for EVENTS_WAIT_MS at most once everything
  // else is there (events the stream no longer holds must not keep a follow open for ever).
  let eventsWaitFrom: number | undefined;
  const eventsComplete = (): boolean => {
    for (const s of o.job().stages) {
      for (const a of s.attempts) {
        if (!a.eventsBytes || (eventsDelivered.get(`pev/${s.name}/${a.attempt}`) ?? 0) >= a.eventsBytes) continue;
        eventsWaitFrom ??= Date.now();
        return Date.now() - eventsWaitFrom > EVENTS_WAIT_MS;
      }
    }
    return true;
  };
  const done = (): boolean => {
    const terminal = isTerminalJob(o.job().state);
    // Without follow: what is there now - but for a finished job, wait a little for
    // bytes still being relayed (an agent catching up after an outage).
    if (!o.follow) return caughtUp && (!terminal || complete() || Date.now() - started > COMPLETE_WAIT_MS);
    // and, replaying what is stored, to its end: playbook events stored after the last log
    // bytes are still the job's (a page's per-host progress needs the last failed task)
    if (!terminal || !caughtUp) return false;
    if (!endedSeen) {
      endedSeen = true;
      progressAt = Math.max(progressAt, Date.now());
    }
    return (logsComplete() || Date.now() - progressAt > COMPLETE_WAIT_MS) && eventsComplete();
  };
  /** After the stream: each attempt's bytes that never came (the stream dropped them) as a gap. */
  const reportMissing = (): void => {
    for (const s of o.job().stages) {
      const fanout = s.targets !== undefined;
      for (const a of s.attempts) {
        const relayed = a.logBytes === null ? 0 : relayedLogBytes(a.logBytes);
        const have = delivered.get(`${s.name}/${a.attempt}`) ?? 0;
        if (relayed > have) gap(s.name, a.attempt, have, relayed, fanout ? a.node : '');
      }
    }
  };

  const check = (): void => {
    if (o.follow && caughtUp) {
      // a stage that has started but printed nothing yet still gets its header
      for (const s of o.job().stages) {
        // a fan-out's nodes run side by side: each started one gets its header
        for (const a of s.targets !== undefined ? s.attempts : s.attempts.slice(-1)) {
          if (a.startedAt !== null && a.state !== 'stale') header(`${s.name}/${a.attempt}`, s.name, a.attempt);
        }
      }
    }
    if (done() || o.signal.aborted) finish?.();
  };

  const unsubscribe = o.onJobChange(check);
  const timer = setInterval(check, 500);
  o.signal.addEventListener('abort', () => finish?.());
  try {
    messages = await openSource(o.nc, Subjects.jobOutput(id));
    const pump = (async () => {
      for await (const m of messages!) {
        const subj = parseOutputSubject(m.subject);
        // a chunk counts only under the name of the node that holds its attempt
        const token = subj && attemptNode(o.job(), subj.token) === subj.node ? subj.token : undefined;
        const h = logChunkHeaderSchema.safeParse({ offset: m.header('Mr-Offset') });
        if (token && h.success && subj?.channel === 'pev') {
          // playbook events: whole JSON lines, each sent once (by offset) as its own event
          const key = `pev/${token.stage}/${token.attempt}`;
          const have = eventsDelivered.get(key) ?? 0;
          if (h.data.offset <= have && h.data.offset + m.data.length > have) {
            const text = Buffer.from(m.data.subarray(have - h.data.offset)).toString('utf8');
            const pending = (eventsPartial.get(key) ?? '') + text;
            const lines = pending.split('\n');
            eventsPartial.set(key, lines.pop() ?? '');
            for (const line of lines) if (line.trim()) o.send({ event: 'playbook', playbook: { stage: token.stage, attempt: token.attempt, json: line } });
            eventsDelivered.set(key, h.data.offset + m.data.length);
            progressAt = Date.now();
          }
        } else if (token && h.success) {
          const key = `${token.stage}/${token.attempt}`;
          const have = delivered.get(key) ?? 0;
          const start = Math.max(0, have - h.data.offset);
          const fanout = o.job().stages.find((s) => s.name === token.stage)?.targets !== undefined;
          const node = fanout ? subj!.node : '';
          // chunks are relayed in order: one that starts past what was sent follows bytes the stream dropped
          if (h.data.offset > have) {
            header(key, token.stage, token.attempt);
            gap(token.stage, token.attempt, have, h.data.offset, node);
          }
          if (start < m.data.length) {
            header(key, token.stage, token.attempt);
            o.send({ event: 'data', data: { stage: token.stage, attempt: token.attempt, offset: h.data.offset + start, data: Buffer.from(m.data.subarray(start)), node } });
            delivered.set(key, h.data.offset + m.data.length);
            progressAt = Date.now();
          }
        }
        if (m.pending === 0) caughtUp = true;
        check();
      }
    })();
    check();
    await finished;
    messages.stop();
    await pump.catch(() => undefined);
    if (!o.signal.aborted && isTerminalJob(o.job().state)) reportMissing();
  } finally {
    unsubscribe();
    clearInterval(timer);
    messages?.stop();
  }
  return o.job();
}
