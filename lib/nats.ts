// Connecting to NATS and creating the JetStream streams and KV buckets meshrun
// needs (idempotent: every daemon may call it on start).
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, MeshrunError } from './errors.js';
import { jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Streams, Subjects } from '../proto/subjects.js';
import { StoreLimits } from './limits.js';
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
}

export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.servers.split(','),
    name: opts.name,
    maxReconnectAttempts: -1,
    // Back within half a second of a restarted server: an agent must renew its lease (--lease,
    // 1.5 s) after a bus restart. nats.js spreads TLS reconnects over a whole second by default.
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    reconnectJitterTLS: 250,
    pingInterval: 2000,
    maxPingOut: 2,
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
  return nc;
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

/** Streams for run events and logs, with their limits; a duplicate window long enough for relays. */
export async function ensureStreams(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const want = [
    { name: Streams.events, subjects: [Subjects.runEventsWildcard], max_bytes: StoreLimits.eventsMaxBytes, max_age: nanos(StoreLimits.eventsMaxAgeMs) },
    { name: Streams.logs, subjects: [Subjects.outputWildcard], max_bytes: StoreLimits.logsMaxBytes, max_age: nanos(StoreLimits.logsMaxAgeMs) },
  ];
  for (const s of want) {
    try {
      const info = await jsm.streams.info(s.name);
      // a store from an older meshrun: add the subjects and limits it lacks
      if (s.subjects.some((x) => !info.config.subjects?.includes(x)) || info.config.max_bytes !== s.max_bytes || info.config.max_age !== s.max_age) {
        await jsm.streams.update(s.name, { ...info.config, subjects: s.subjects, max_bytes: s.max_bytes, max_age: s.max_age });
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
  const kv = await new Kvm(nc).create(bucket, { history: 1, max_bytes: max });
  await applyLimits(nc, `KV_${bucket}`, max);
  return kv;
}

/** A store made by an older meshrun (or by hand) gets its limit too: create keeps an existing config. */
export async function applyLimits(nc: NatsConnection, stream: string, maxBytes: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  if (info.config.max_bytes !== maxBytes) await jsm.streams.update(stream, { ...info.config, max_bytes: maxBytes });
}

const nanos = (ms: number): number => ms * 1_000_000;

function readCredsFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new MeshrunError(ErrorCode.NotFound, `NATS credentials ${path}: ${(err as Error).message}`);
  }
}
