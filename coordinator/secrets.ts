// Job secrets on the coordinator: kept only encrypted (AES-256-GCM with the trust root's
// secrets key, the job id as associated data, so a record cannot be moved to another job),
// in KV bucket mr_secrets, removed when the job ends. A node gets the values of a run it holds
// and only the secrets its stage names, sealed (NATS curve keys, nacl box) to a key it made
// for this one request, so neither the bus, nor the server, nor a recording of it sees them.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createCurve } from '@nats-io/nkeys';
import type { KV } from '@nats-io/kv';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { secretRequestSchema, type SecretReply } from '../proto/bus.js';
import { decode } from '../proto/decode.js';
import { tokenKey } from '../proto/names.js';
import { nodeInboxPrefix } from '../proto/permissions.js';
import type { JobRecord } from '../proto/records.js';
import type { SecretValues } from '../proto/secrets.js';
import { Buckets, Subjects } from '../proto/subjects.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { openKv } from '../lib/nats.js';
import { readKv } from '../lib/kv-read.js';
import { writeFileAtomic } from '../lib/write-file-atomic.js';
import { whyNotHolder } from './blob-service.js';

const sealedRecordSchema = z.object({ v: z.literal(1), iv: z.string(), tag: z.string(), data: z.string() });

/** The trust root's 32-byte secrets key, made on first use (0600, never leaves the directory). */
export function loadSecretsKey(path: string): Buffer {
  if (!existsSync(path)) writeFileAtomic(path, randomBytes(32).toString('base64') + '\n', 0o600);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new MeshrunError(ErrorCode.InvalidInput, `${path}: not a 32-byte key (base64)`);
  return key;
}

export class SecretStore {
  private kv: KV | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly key: Buffer,
  ) {}

  async start(): Promise<void> {
    this.kv = await openKv(this.nc, Buckets.secrets);
  }

  private store(): KV {
    if (!this.kv) throw new MeshrunError(ErrorCode.Internal, 'secret store not started');
    return this.kv;
  }

  async put(job: string, values: SecretValues): Promise<void> {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(job));
    const data = Buffer.concat([c.update(JSON.stringify(values)), c.final()]);
    await this.store().put(job, JSON.stringify({ v: 1, iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), data: data.toString('base64') }));
  }

  async get(job: string): Promise<SecretValues | undefined> {
    const e = await this.store().get(job);
    if (!e || e.operation !== 'PUT') return undefined;
    const r = decode(sealedRecordSchema, e.string());
    if (!r.ok) throw new MeshrunError(ErrorCode.Internal, `the secrets of ${job} are damaged`);
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(r.value.iv, 'base64'));
    d.setAAD(Buffer.from(job));
    d.setAuthTag(Buffer.from(r.value.tag, 'base64'));
    return JSON.parse(Buffer.concat([d.update(Buffer.from(r.value.data, 'base64')), d.final()]).toString('utf8')) as SecretValues;
  }

  /** Forgets a job's secrets (it ended): purged, so no history keeps them either. */
  async remove(job: string): Promise<void> {
    await this.store().purge(job);
  }

  async jobs(): Promise<string[]> {
    const out: string[] = [];
    // keys only, in one read: the values are sealed secrets, not needed here
    await readKv(this.nc, Buckets.secrets, (e) => out.push(e.key), { headersOnly: true });
    return out;
  }
}

export interface SecretServiceOptions {
  nc: NatsConnection;
  store: SecretStore;
  job(id: string): JobRecord | undefined;
  log: Logger;
}

/** Answers `mr.secret.<node>.get`: the secrets a run's stage names, to the node holding the run. */
export class SecretService {
  private sub: Subscription | undefined;

  constructor(private readonly opts: SecretServiceOptions) {}

  start(): void {
    this.sub = this.opts.nc.subscribe(Subjects.secretWildcard, { callback: (err, msg) => void (err ? undefined : this.onRequest(msg)) });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  private async onRequest(msg: Msg): Promise<void> {
    const node = msg.subject.split('.')[2] ?? '';
    // a reply goes only to the asking node's own inbox
    if (!msg.reply?.startsWith(`${nodeInboxPrefix(node)}.`)) return;
    const answer = (r: SecretReply): void => void msg.respond(JSON.stringify(r));
    const refuse = (error: string): void => {
      this.opts.log.warn('secret request refused', { node, error });
      answer({ ok: false, error });
    };
    const req = decode(secretRequestSchema, msg.data);
    if (!req.ok) return refuse(`invalid secret request: ${req.errors.slice(0, 3).join('; ')}`);
    const { token, box } = req.value;
    const job = this.opts.job(token.job);
    const why = whyNotHolder(job, token, node);
    if (why) return refuse(why);
    const names = job!.spec.stages.find((s) => s.name === token.stage)?.secrets ?? [];
    try {
      const all = (await this.opts.store.get(token.job)) ?? {};
      const values: SecretValues = {};
      for (const n of names) {
        if (all[n] === undefined) return refuse(`secret ${n} of job ${token.job} is not stored`);
        values[n] = all[n];
      }
      const sender = createCurve();
      const sealed = sender.seal(new TextEncoder().encode(JSON.stringify(values)), box);
      answer({ ok: true, sender: sender.getPublicKey(), sealed: Buffer.from(sealed).toString('base64') });
      this.opts.log.info('secrets handed to a run', { token: tokenKey(token), node, names });
    } catch (err) {
      this.opts.log.error('secret request failed', { err, token: tokenKey(token) });
      answer({ ok: false, error: 'the coordinator could not read the job\'s secrets' });
    }
  }
}
