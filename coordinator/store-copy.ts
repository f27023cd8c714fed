// `meshrun store copy`: moves meshrun's whole JetStream state (streams, KV buckets, object
// store) from one bus to another, e.g. from one nats-server to a cluster with replicas, which
// nats-server 2.9 cannot do by itself. Refuses while a coordinator runs on the source and when
// the target already holds state; verifies both sides after copying.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Buckets, Durables, Streams } from '../proto/subjects.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import { silentLogger } from '../lib/log.js';
import { connectNats } from '../lib/nats.js';
import { Leadership, machineId } from './leadership.js';
import { describeHolder, probeLease } from './leader-probe.js';
import { copyMessages, targetStreamConfig } from './stream-copy.js';
import { checkCounts, compareDigests, lastPerSubject } from './store-verify.js';

/** One bus: its URLs (comma-separated) and how to authenticate to it. */
export interface BusEndpoint {
  servers: string;
  credsFile?: string;
  caFile?: string;
}

export interface StoreCopyOptions {
  from: BusEndpoint;
  to: BusEndpoint;
  /** `num_replicas` of every stream made on the target. @default 1 */
  replicas?: number;
  /** Replace meshrun streams the target already has (their messages are lost). @default false */
  force?: boolean;
  /** Told each stream's result as soon as it is copied (progress on a terminal). */
  onStream?: (r: StreamCopyResult) => void;
}

export type StreamKind = 'stream' | 'kv' | 'object store';

export interface StreamCopyResult {
  stream: string;
  kind: StreamKind;
  /** copied: made on the target with its messages; created: made without them (the lease); absent: not on the source, not made. */
  outcome: 'copied' | 'created' | 'absent';
  messages: number;
  /** Payload bytes copied (headers not counted). */
  bytes: number;
  /** Messages the target's duplicate window refused (an id stored by an earlier one). */
  duplicates: number;
  /** Source messages left out on purpose, and why. */
  skipped: number;
  skippedWhy: string | null;
  /** Config fields of the source stream a create on the target does not take. */
  dropped: string[];
  ms: number;
}

export interface StreamVerification {
  stream: string;
  sourceMessages: number;
  /** Messages the target must hold: those copied, less any the target's duplicate window refused. */
  targetExpected: number;
  targetMessages: number;
  /** Keys (KV) or objects' metadata (object store) whose last value was compared. */
  keysCompared: number | null;
  problems: string[];
}

export interface StoreCopyReport {
  from: string;
  to: string;
  replicas: number;
  /** What the source's leader lease said: no coordinator holds it. */
  sourceLease: string;
  streams: StreamCopyResult[];
  /** Streams on the source that are not meshrun's: not copied. */
  notCopied: string[];
  totals: { messages: number; bytes: number; ms: number; messagesPerSecond: number; bytesPerSecond: number };
  verification: { ok: boolean; streams: StreamVerification[] };
}

export const CopyRefusal = {
  SameServer: 'same-server',
  NoJetStream: 'no-jetstream',
  SourceHoldsNothing: 'source-holds-nothing',
  TargetNotEmpty: 'target-not-empty',
  CoordinatorRunning: 'coordinator-running',
} as const;
export type CopyRefusal = (typeof CopyRefusal)[keyof typeof CopyRefusal];

/** The copy did not start: the message names what is wrong and what to do. */
export class StoreCopyRefused extends MeshrunError {
  constructor(
    readonly refusal: CopyRefusal,
    message: string,
  ) {
    super(ErrorCode.Conflict, message);
    this.name = 'StoreCopyRefused';
  }
}

interface Planned {
  stream: string;
  kind: StreamKind;
  /** Copy its messages (the lease bucket's are not: a coordinator takes a fresh lease). */
  content: boolean;
  /** KV subjects (or the object store's metadata) whose last values are compared after the copy. */
  lastValues?: string;
}

const kvBuckets = Object.values(Buckets).filter((b) => b !== Buckets.blobs);

/** Every stream meshrun keeps state in. */
export const STORE_STREAMS: readonly Planned[] = [
  ...Object.values(Streams).map((s): Planned => ({ stream: s, kind: 'stream', content: true })),
  ...kvBuckets.map((b): Planned => ({ stream: `KV_${b}`, kind: 'kv', content: b !== Buckets.leader, ...(b !== Buckets.leader ? { lastValues: `$KV.${b}.>` } : {}) })),
  { stream: `OBJ_${Buckets.blobs}`, kind: 'object store', content: true, lastValues: `$O.${Buckets.blobs}.M.>` },
];

/** How long a target whose JetStream is not ready yet (a cluster electing its leader) is waited for. */
const JETSTREAM_WAIT_MS = 20_000;

/** The copy's own hold on the source's lease: a coordinator started meanwhile waits as a standby. */
const FENCE_LEASE_MS = 1500;

interface Side {
  name: 'source' | 'target';
  servers: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export async function copyStore(o: StoreCopyOptions): Promise<StoreCopyReport> {
  const replicas = o.replicas ?? 1;
  const src = await open('source', o.from);
  let dst: Side | undefined;
  try {
    dst = await open('target', o.to);
    return await copyBetween(src, dst, replicas, o);
  } finally {
    await dst?.nc.close().catch(() => undefined);
    await src.nc.close().catch(() => undefined);
  }
}

async function copyBetween(src: Side, dst: Side, replicas: number, o: StoreCopyOptions): Promise<StoreCopyReport> {
  if (src.nc.info?.server_id && src.nc.info.server_id === dst.nc.info?.server_id) {
    throw new StoreCopyRefused(CopyRefusal.SameServer, `--from ${src.servers} and --to ${dst.servers} reach the same nats-server (${src.nc.info.server_name}): the target must be another JetStream`);
  }
  const before = new Map<string, StreamInfo>();
  for (const p of STORE_STREAMS) {
    const i = await streamInfo(src, p.stream);
    if (i) before.set(p.stream, i);
  }
  if (before.size === 0) {
    throw new StoreCopyRefused(CopyRefusal.SourceHoldsNothing, `the source ${src.servers} holds none of meshrun's streams (${STORE_STREAMS.map((p) => p.stream).join(', ')}): is it the right server, and the credential of the fleet's account (the coordinator's)?`);
  }
  const targetHas = new Map<string, StreamInfo>();
  for (const p of STORE_STREAMS) {
    const i = await streamInfo(dst, p.stream);
    if (i) targetHas.set(p.stream, i);
  }
  const full = [...targetHas.values()].filter((i) => i.state.messages > 0);
  if (full.length > 0 && !o.force) {
    throw new StoreCopyRefused(
      CopyRefusal.TargetNotEmpty,
      `the target ${dst.servers} already holds meshrun state: ${full.map((i) => `${i.config.name} (${i.state.messages} messages)`).join(', ')}; copy into an empty JetStream, or pass --force to replace these streams`,
    );
  }
  const sourceLease = await refuseIfLeading(src, before.has(`KV_${Buckets.leader}`));
  if (targetHas.has(`KV_${Buckets.leader}`)) await refuseIfLeading(dst, true);

  const notCopied: string[] = [];
  for await (const name of src.jsm.streams.names()) if (!STORE_STREAMS.some((p) => p.stream === name)) notCopied.push(name);

  // hold the source's lease while copying: a coordinator started meanwhile waits, writes nothing
  const fence = before.has(`KV_${Buckets.leader}`) ? await holdLease(src) : undefined;
  const results: StreamCopyResult[] = [];
  const expected = new Map<string, number>();
  const t0 = Date.now();
  try {
    for (const p of STORE_STREAMS) {
      const info = before.get(p.stream);
      const r = info ? await copyOne(src, dst, p, info, targetHas.has(p.stream), replicas) : await absent(dst, p, targetHas.has(p.stream));
      results.push(r);
      expected.set(p.stream, r.messages - r.duplicates);
      o.onStream?.(r);
    }
  } catch (err) {
    const msg = err instanceof MeshrunError ? err.message : `copy failed: ${(err as Error).message}`;
    throw new MeshrunError(ErrorCode.Internal, `${msg}; the target holds a partial copy: copy again with --force once this is fixed`, { cause: err });
  } finally {
    await fence?.release();
  }
  const ms = Date.now() - t0;
  const messages = results.reduce((a, r) => a + r.messages, 0);
  const bytes = results.reduce((a, r) => a + r.bytes, 0);
  const verification = await verify(src, dst, before, expected, replicas);
  return {
    from: src.servers,
    to: dst.servers,
    replicas,
    sourceLease,
    streams: results,
    notCopied,
    totals: { messages, bytes, ms, messagesPerSecond: Math.round(messages / Math.max(ms / 1000, 0.001)), bytesPerSecond: Math.round(bytes / Math.max(ms / 1000, 0.001)) },
    verification,
  };
}

async function open(name: Side['name'], e: BusEndpoint): Promise<Side> {
  let nc: NatsConnection;
  try {
    nc = await connectNats({ servers: e.servers, name: 'meshrun-store-copy', log: silentLogger, waitOnFirstConnect: false, credsFile: e.credsFile, caFile: e.caFile });
  } catch (err) {
    const m = (err as Error).message;
    const hint = /authori[sz]ation|authentication|user/i.test(m) ? ` (give the fleet's coordinator credential: --trust-dir DIR, or --${name === 'source' ? 'from' : 'to'}-creds and --${name === 'source' ? 'from' : 'to'}-ca)` : '';
    throw new MeshrunError(ErrorCode.Unreachable, `cannot connect to the ${name} ${e.servers}: ${m}${hint}`, { cause: err });
  }
  // a cluster just started answers "temporarily unavailable" until it has elected a JetStream leader
  const until = Date.now() + JETSTREAM_WAIT_MS;
  for (;;) {
    try {
      // slow creates and acks of a cluster electing its stream leaders must not fail the copy
      const jsm = await jetstreamManager(nc, { timeout: 30_000 });
      return { name, servers: e.servers, nc, jsm, js: jetstream(nc, { timeout: 30_000 }) };
    } catch (err) {
      const m = (err as Error).message;
      if (/temporarily unavailable/i.test(m) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      await nc.close().catch(() => undefined);
      throw new StoreCopyRefused(CopyRefusal.NoJetStream, `the ${name} ${e.servers} has no JetStream for this account: ${m}`);
    }
  }
}

async function streamInfo(side: Side, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await side.jsm.streams.info(stream);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw new MeshrunError(ErrorCode.Unreachable, `the ${side.name} ${side.servers} did not describe stream ${stream}: ${(err as Error).message}`, { cause: err });
  }
}

/** Refuses while a coordinator holds the side's leader lease; else says what the lease showed. */
async function refuseIfLeading(side: Side, hasBucket: boolean): Promise<string> {
  if (!hasBucket) return 'none (no lease bucket)';
  const lease = await probeLease(await leaderKv(side));
  if (lease.state === 'live') {
    throw new StoreCopyRefused(
      CopyRefusal.CoordinatorRunning,
      `a coordinator is running against the ${side.name} ${side.servers}: ${describeHolder(lease.holder)} renews the leader lease (bucket ${Buckets.leader}); stop the coordinators (all of them, standbys too) and the agents first, then copy`,
    );
  }
  return lease.state === 'free' ? 'free (released by the last coordinator)' : `lapsed: the last holder, ${describeHolder(lease.holder)}, ${lease.why}`;
}

function leaderKv(side: Side): Promise<KV> {
  return new Kvm(side.nc).open(Buckets.leader);
}

/** Takes the source's lease (as a coordinator would) and renews it until released. */
async function holdLease(src: Side): Promise<Leadership> {
  const kv = await leaderKv(src);
  let lost: string | undefined;
  const fence = new Leadership({
    kv: () => kv,
    me: { id: `store-copy-${randomBytes(4).toString('hex')}`, address: 'meshrun store copy', pid: process.pid, host: hostname(), machine: machineId(), since: Date.now(), leaseMs: FENCE_LEASE_MS },
    leaseMs: FENCE_LEASE_MS,
    log: silentLogger,
    onLost: (why) => (lost = why),
  });
  const took = await Promise.race([fence.acquire().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 4 * FENCE_LEASE_MS))]);
  if (!took || lost) {
    await fence.release();
    throw new StoreCopyRefused(CopyRefusal.CoordinatorRunning, `a coordinator took the leader lease of the source ${src.servers} as the copy was starting: stop the coordinators first, then copy`);
  }
  return fence;
}

/** Not on the source: not made on the target either, and (empty, or --force) removed there. */
async function absent(dst: Side, p: Planned, onTarget: boolean): Promise<StreamCopyResult> {
  if (onTarget) await dst.jsm.streams.delete(p.stream);
  return { stream: p.stream, kind: p.kind, outcome: 'absent', messages: 0, bytes: 0, duplicates: 0, skipped: 0, skippedWhy: null, dropped: [], ms: 0 };
}

async function copyOne(src: Side, dst: Side, p: Planned, info: StreamInfo, onTarget: boolean, replicas: number): Promise<StreamCopyResult> {
  const t0 = Date.now();
  // an empty one (or, with --force, a full one) is made again from the source's config, consumers and all gone
  if (onTarget) await dst.jsm.streams.delete(p.stream);
  const { config, dropped } = targetStreamConfig(info.config, replicas);
  try {
    await dst.jsm.streams.add(config);
  } catch (err) {
    const m = (err as Error).message;
    const hint = replicas > 1 && /replica|resources|cluster/i.test(m) ? ` (does the target have ${replicas} JetStream servers in one cluster?)` : '';
    throw new MeshrunError(ErrorCode.Conflict, `creating ${p.stream} on the target with ${replicas} replica(s): ${m}${hint}`, { cause: err });
  }
  const base = { stream: p.stream, kind: p.kind, dropped, duplicates: 0 };
  if (!p.content) {
    return { ...base, outcome: 'created', messages: 0, bytes: 0, skipped: info.state.messages, skippedWhy: 'the leader lease (the first coordinator on the target takes a fresh one)', ms: Date.now() - t0 };
  }
  let fromSeq = info.state.first_seq;
  let skippedWhy: string | null = null;
  if (p.stream === Streams.events) {
    // applied events (up to the coordinator's ack floor) would be applied a second time
    const floor = await ackFloor(src);
    if (floor !== undefined && floor >= fromSeq) {
      fromSeq = floor + 1;
      skippedWhy = `run events the coordinator applied (up to sequence ${floor})`;
    }
  }
  const count = await copyMessages(src, dst.nc, { stream: p.stream, fromSeq, toSeq: info.state.last_seq, avgBytes: info.state.bytes / Math.max(1, info.state.messages) });
  return { ...base, outcome: 'copied', ...count, skipped: info.state.messages - count.messages, skippedWhy: skippedWhy ?? null, ms: Date.now() - t0 };
}

/** The stream sequence below which the coordinator's durable consumer has acknowledged every event. */
async function ackFloor(src: Side): Promise<number | undefined> {
  try {
    return (await src.jsm.consumers.info(Streams.events, Durables.coordinatorEvents)).ack_floor.stream_seq;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
    throw err;
  }
}

async function verify(src: Side, dst: Side, before: Map<string, StreamInfo>, expected: Map<string, number>, replicas: number): Promise<StoreCopyReport['verification']> {
  const streams: StreamVerification[] = [];
  for (const p of STORE_STREAMS) {
    const b = before.get(p.stream);
    if (!b) continue;
    const after = await streamInfo(src, p.stream);
    const target = await streamInfo(dst, p.stream);
    const problems = checkCounts({ before: b, after, target, expected: expected.get(p.stream) ?? 0, replicas, sourceMayChange: !p.content });
    let keysCompared: number | null = null;
    if (p.lastValues && target) {
      const [s, t] = [await lastPerSubject(src.js, src.jsm, p.stream, p.lastValues), await lastPerSubject(dst.js, dst.jsm, p.stream, p.lastValues)];
      keysCompared = s.size;
      problems.push(...compareDigests(s, t));
    }
    streams.push({ stream: p.stream, sourceMessages: after?.state.messages ?? 0, targetExpected: expected.get(p.stream) ?? 0, targetMessages: target?.state.messages ?? 0, keysCompared, problems });
  }
  return { ok: streams.every((s) => s.problems.length === 0), streams };
}
