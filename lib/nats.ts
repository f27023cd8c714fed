// Connecting to NATS and creating the JetStream streams and KV buckets meshrun
// needs (idempotent: every daemon may call it on start).
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { connect, credsAuthenticator, errors, type NatsConnection } from '@nats-io/transport-node';
import { RequestOne } from '@nats-io/nats-core/internal';
import { ErrorCode, MeshrunError } from './errors.js';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy, type Consumer, type JetStreamManager, type MsgRequest, type OrderedConsumerOptions, type StoredMsg } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Streams, Subjects } from '../proto/subjects.js';
import { StoreLimits } from './limits.js';
import { Backoff } from './backoff.js';
import type { Logger } from './log.js';

export interface ConnectOptions {
  servers: string;
  name: string;
  log: Logger;
  /** Keep trying forever (daemons) instead of failing on the first refusal. */
  waitOnFirstConnect?: boolean;
  /** A `.creds` file (user JWT and nkey seed) issued from the fleet's trust root. */
  credsFile?: string;
  /** The fleet CA's certificate: connect with TLS and trust only servers it signed. */
  caFile?: string;
  /** Reply subjects start with this (a node's credential may read only its own replies). */
  inboxPrefix?: string;
  /**
   * A server to dial first (`host:port`, as `nc.getServer()` names it), the others after it in
   * their order: the one another connection of this process is on now, known to answer. Dialed
   * in random order, a second connection made while a server of the cluster is cut off (a new
   * leader's start-up) lost 3 s to that server about one time in three.
   */
  prefer?: string;
}

/** The server list with `prefer` first (when it is one of them); whether it was. */
export function serversPreferring(servers: string, prefer: string | undefined): { servers: string[]; preferred: boolean } {
  const list = servers.split(',');
  const hostOf = (s: string): string => {
    try {
      return new URL(s.includes('://') ? s : `nats://${s}`).host;
    } catch {
      return s;
    }
  };
  const i = prefer ? list.findIndex((s) => hostOf(s) === prefer) : -1;
  if (i < 0) return { servers: list, preferred: false };
  return { servers: [list[i]!, ...list.slice(0, i), ...list.slice(i + 1)], preferred: true };
}

export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const order = serversPreferring(opts.servers, opts.prefer);
  const nc = await connect({
    servers: order.servers,
    ...(order.preferred ? { noRandomize: true } : {}),
    name: opts.name,
    maxReconnectAttempts: -1,
    // Back within half a second of a restarted server: an agent must renew its lease (--lease,
    // 1.5 s) after a bus restart. nats.js spreads TLS reconnects over a whole second by default.
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    reconnectJitterTLS: 250,
    pingInterval: 2000,
    maxPingOut: 2,
    // a server behind a pulled cable answers nothing: give up dialing it after 3 s (not 20 s)
    // and try the next one of the cluster
    timeout: 3000,
    // Not `noAsyncTraces`, although the stack-carrying RequestError and TimeoutError nats.js
    // builds for every request were a tenth of the coordinator's CPU in the throughput bench:
    // without them a "no responders" reply is not wrapped in a RequestError, and nats.js's
    // JetStream client (its retry of a publish while a stream elects a leader, its
    // JetStreamNotEnabled) and the agent's lease ("no coordinator: hold the runs") tell
    // "no responders" only by that wrapper (nats.js 3.4). withStacklessRequests (below) makes
    // them cheap instead.
    waitOnFirstConnect: opts.waitOnFirstConnect ?? true,
    ...(opts.credsFile ? { authenticator: credsAuthenticator(readCredsFile(opts.credsFile)) } : {}),
    ...(opts.caFile ? { tls: natsTls(opts.servers, opts.caFile) } : {}),
    ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') opts.log.info('nats connection changed', { status: s.type });
    }
  })().catch(() => undefined);
  return withStacklessRequests(nc);
}

/**
 * nats.js makes a RequestError and a TimeoutError ahead of every request (its async traces) and
 * V8 captures a stack trace for each as it is made: a tenth of the coordinator's CPU in the
 * throughput bench, where every KV write and event publish is a request. The errors are kept
 * (no-responders is recognised by the RequestError that wraps it, above) but made without a
 * stack: Error.stackTraceLimit is read when an Error is constructed, and nats.js constructs both
 * synchronously as a request begins, so the request is begun with the limit at 0 and it is set
 * back before anything else runs. The JetStream and KV clients request through `nc.request`.
 */
export function withStacklessRequests(nc: NatsConnection): NatsConnection {
  stacklessCancel();
  const request = nc.request.bind(nc);
  nc.request = (subject, payload, opts) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return request(subject, payload, opts);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
  return nc;
}

let cancelPatched = false;
/**
 * The other half: nats.js ends every answered request with RequestOne.cancel(), which rejects the
 * request's promise - already resolved, so to no effect - with a new RequestError("cancelled"),
 * stack and all: another 5 % of the coordinator's CPU in the throughput bench. cancel() is made
 * to run with the limit at 0 too; what it does is unchanged (nats.js 3.4; a later one without
 * the method is left as it is).
 */
function stacklessCancel(): void {
  if (cancelPatched) return;
  cancelPatched = true;
  const proto = RequestOne.prototype as unknown as { cancel?: (err?: Error) => void };
  const cancel = proto.cancel;
  if (typeof cancel !== 'function') return;
  proto.cancel = function (this: unknown, err?: Error): void {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      cancel.call(this, err);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

/**
 * TLS to the fleet's servers: trust only the fleet CA, and the server's certificate must name
 * a host we were told to dial. nats.js upgrades an open
 * socket to TLS without the host when it dials an IP address, so Node would check the name
 * against "localhost"; this checks it against the configured servers instead (any of them:
 * the transport does not say which one this connection went to).
 */
export function natsTls(servers: string, caFile: string): { caFile: string } {
  // the transport hands every tls option on to Node's tls.connect; its type names only some
  return { caFile, ...({ checkServerIdentity: serverIdentityCheck(servers) } as object) };
}

function serverIdentityCheck(servers: string): (host: string, cert: PeerCertificate) => Error | undefined {
  const hosts = servers.split(',').map((s) => new URL(s.includes('://') ? s.trim() : `nats://${s.trim()}`).hostname.replace(/^\[|\]$/g, ''));
  return (_host, cert) => {
    let first: Error | undefined;
    for (const h of hosts) {
      const err = checkServerIdentity(h, cert);
      if (!err) return undefined;
      first ??= err;
    }
    return first;
  };
}

const replicasByConnection = new WeakMap<NatsConnection, number>();

/**
 * Every stream, KV bucket and object store made or checked on this connection gets `n`
 * replicas (the coordinator's --replicas: 3 on a 3-server cluster, 1 on a single server);
 * an existing one with another count is scaled to it.
 */
export function useReplicas(nc: NatsConnection, n: number): void {
  replicasByConnection.set(nc, n);
}

export function replicasOf(nc: NatsConnection): number {
  return replicasByConnection.get(nc) ?? 1;
}

/** Streams for run events and logs, with their limits; a duplicate window long enough for relays. */
export async function ensureStreams(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const num_replicas = replicasOf(nc);
  const want = [
    { name: Streams.events, subjects: [Subjects.runEventsWildcard], max_bytes: StoreLimits.eventsMaxBytes, max_age: nanos(StoreLimits.eventsMaxAgeMs), num_replicas },
    { name: Streams.logs, subjects: [Subjects.outputWildcard], max_bytes: StoreLimits.logsMaxBytes, max_age: nanos(StoreLimits.logsMaxAgeMs), num_replicas },
  ];
  for (const s of want) {
    try {
      const info = await jsm.streams.info(s.name);
      // a store from an older meshrun, or made with another --replicas: add what it lacks
      if (s.subjects.some((x) => !info.config.subjects?.includes(x)) || info.config.max_bytes !== s.max_bytes || info.config.max_age !== s.max_age || info.config.num_replicas !== num_replicas) {
        await jsm.streams.update(s.name, { ...info.config, subjects: s.subjects, max_bytes: s.max_bytes, max_age: s.max_age, num_replicas });
      }
    } catch {
      try {
        await jsm.streams.add({
          ...s,
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          discard: DiscardPolicy.Old,
          duplicate_window: 10 * 60 * 1_000_000_000,
        });
      } catch (err) {
        // another process may have created it between info and add
        await jsm.streams.info(s.name).catch(() => {
          throw err;
        });
      }
    }
  }
}

type KvBucket = keyof typeof StoreLimits.kvMaxBytes;

/** Opens (or makes) a KV bucket: one value per key, at most its StoreLimits size. */
export async function openKv(nc: NatsConnection, bucket: KvBucket): Promise<KV> {
  const max = StoreLimits.kvMaxBytes[bucket];
  const kv = await new Kvm(nc).create(bucket, { history: 1, max_bytes: max, replicas: replicasOf(nc) });
  await applyLimits(nc, `KV_${bucket}`, max);
  return kv;
}

/**
 * A store made by an older meshrun (or by hand, or with another --replicas) gets its limit and
 * replica count too: create keeps an existing config.
 */
export async function applyLimits(nc: NatsConnection, stream: string, maxBytes: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const num_replicas = replicasOf(nc);
  if (info.config.max_bytes !== maxBytes || info.config.num_replicas !== num_replicas) await jsm.streams.update(stream, { ...info.config, max_bytes: maxBytes, num_replicas });
}

/**
 * An ordered consumer (a one-off read of a stream), created with retries: on a nats-server
 * cluster with a server down, nats-server 2.9 may place the consumer (one replica) on that
 * server, and the creation times out; another try is placed again, at random among the stream's
 * servers (measured: 1 in 3 fails with one of three down). Each try waits 1.5 s, not 5 s.
 */
export async function orderedConsumer(nc: NatsConnection, stream: string, opts: Partial<OrderedConsumerOptions>, tries = ORDERED_CONSUMER_TRIES): Promise<Consumer> {
  const js = jetstream(nc, { timeout: 1500 });
  for (let attempt = 1; ; attempt++) {
    try {
      // get() with options makes the server-side consumer (with one replica) right away
      return await js.consumers.get(stream, opts);
    } catch (err) {
      if (!(err instanceof errors.TimeoutError) || attempt >= tries) throw err;
    }
  }
}

const ORDERED_CONSUMER_TRIES = 8;

import { isPlacementPending, isTransientBusError } from './bus-errors.js';
export { isTransientBusError };

/**
 * Runs a start-up step again until the bus answers (with backoff, up to 5 s apart), logging each
 * failure; anything but "no answer (yet)" or "replicas cannot be placed (yet)" is thrown, for
 * the operator. `stop()` true ends the wait (undefined).
 */
export async function untilBusAnswers<T>(what: string, step: () => Promise<T>, log: Logger, stop: () => boolean = () => false, onTrouble?: () => void): Promise<T | undefined> {
  const backoff = new Backoff({ initialMs: 500, maxMs: 5000 });
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (stop()) return undefined;
      if (isPlacementPending(err)) {
        log.warn('JetStream cannot place the replicas yet (a cluster still forming, or fewer servers than --replicas); trying again', { step: what, err: (err as Error).message });
      } else if (isTransientBusError(err)) {
        log.warn('JetStream not answering at start; trying again', { step: what, err: (err as Error).message });
      } else throw err;
      onTrouble?.();
      await new Promise((r) => setTimeout(r, backoff.next()));
      if (stop()) return undefined;
    }
  }
}

const nanos = (ms: number): number => ms * 1_000_000;

function readCredsFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new MeshrunError(ErrorCode.NotFound, `NATS credentials ${path}: ${(err as Error).message}`);
  }
}

/**
 * The first message at or after `seq` on a subject matching `filter`, or null when there is
 * none: an ordered consumer started where nothing is would wait for the first message forever.
 */
export function firstMessageFrom(jsm: JetStreamManager, stream: string, seq: number, filter: string): Promise<StoredMsg | null> {
  // the server takes next_by_subj with seq (2.9); the client's type names only one of them
  return jsm.streams.getMessage(stream, { seq, next_by_subj: filter } as unknown as MsgRequest);
}
