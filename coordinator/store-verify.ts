// What `meshrun store copy` checks after copying: per stream, message counts on both sides
// and, for KV buckets and the object store's metadata, the last value of every subject (the
// current value of every key, or the current description of every object) equal on both sides.
import { createHash } from 'node:crypto';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { firstMessageFrom } from '../lib/nats.js';

const IDLE_MS = 30_000;

/** Subject -> digest of its last message (payload, and the KV operation a header carries). */
export type SubjectDigests = Map<string, string>;

/** The last message of every subject under `filter` in one stream, read in one ordered pass. */
export async function lastPerSubject(js: JetStreamClient, jsm: JetStreamManager, stream: string, filter: string): Promise<SubjectDigests> {
  const out: SubjectDigests = new Map();
  // none under the filter: a consumer would wait for the first message forever
  if (!(await firstMessageFrom(jsm, stream, 1, filter))) return out;
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.LastPerSubject, filter_subjects: filter });
  const messages = await consumer.consume({ max_messages: 256 });
  let lastSeen = Date.now();
  let stalled = false;
  const idle = setInterval(() => {
    if (Date.now() - lastSeen < IDLE_MS) return;
    stalled = true;
    void messages.close();
  }, 1000);
  try {
    for await (const m of messages) {
      lastSeen = Date.now();
      const op = m.headers?.get('KV-Operation') || 'PUT';
      out.set(m.subject, createHash('sha256').update(op).update('\0').update(m.data).digest('hex'));
      if (m.info.pending === 0) break;
    }
  } finally {
    clearInterval(idle);
    await messages.close().catch(() => undefined);
    // closing leaves the ordered consumer on the server until it is idle for minutes
    await consumer.delete().catch(() => undefined);
  }
  if (stalled) throw new Error(`${stream}: reading the last message of every subject stalled after ${out.size}`);
  return out;
}

/** Problems between the two sides' last values: subjects missing on one side, or with another value. */
export function compareDigests(source: SubjectDigests, target: SubjectDigests, show = 5): string[] {
  const missing: string[] = [];
  const differ: string[] = [];
  for (const [s, d] of source) {
    const t = target.get(s);
    if (t === undefined) missing.push(s);
    else if (t !== d) differ.push(s);
  }
  const extra = [...target.keys()].filter((s) => !source.has(s));
  const list = (xs: string[]): string => xs.slice(0, show).join(', ') + (xs.length > show ? `, ... (${xs.length} in all)` : '');
  const problems: string[] = [];
  if (missing.length) problems.push(`${missing.length} key(s) missing on the target: ${list(missing)}`);
  if (differ.length) problems.push(`${differ.length} key(s) with another value on the target: ${list(differ)}`);
  if (extra.length) problems.push(`${extra.length} key(s) only on the target: ${list(extra)}`);
  return problems;
}

export interface CountCheck {
  /** The source stream when the copy was planned, and after it. */
  before: StreamInfo;
  after: StreamInfo | undefined;
  target: StreamInfo | undefined;
  /** Messages the target must hold. */
  expected: number;
  replicas: number;
  /** The source may change meanwhile (the lease bucket: the copy holds the lease itself). */
  sourceMayChange?: boolean;
}

/** Problems with one stream's counts and config after the copy; none when all is well. */
export function checkCounts(c: CountCheck): string[] {
  const problems: string[] = [];
  if (!c.target) return ['missing on the target'];
  if (!c.sourceMayChange) {
    if (!c.after) problems.push('gone from the source during the copy');
    else if (c.after.state.messages !== c.before.state.messages || c.after.state.last_seq !== c.before.state.last_seq) {
      problems.push(
        `the source changed during the copy (${c.before.state.messages} messages up to sequence ${c.before.state.last_seq} when it started, ${c.after.state.messages} up to ${c.after.state.last_seq} now): something still writes to it — stop every coordinator and agent on it and copy again with --force`,
      );
    }
  }
  if (c.target.state.messages !== c.expected) problems.push(`${c.target.state.messages} messages on the target, ${c.expected} expected`);
  if (c.target.config.num_replicas !== c.replicas) problems.push(`${c.target.config.num_replicas} replicas on the target, ${c.replicas} asked for`);
  const subjects = (i: StreamInfo): string => [...(i.config.subjects ?? [])].sort().join(',');
  if (subjects(c.target) !== subjects(c.before)) problems.push(`subjects ${subjects(c.target)} on the target, ${subjects(c.before)} on the source`);
  return problems;
}
