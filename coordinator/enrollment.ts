// Node enrollment: an admin makes a join token (like a Tailscale pre-auth key or a Nomad
// introduction token); a new node exchanges it once for a bus credential signed by the fleet,
// for a key pair it made itself. Tokens live in JetStream KV as a hash of their secret, with
// labels, an expiry and a use count taken with compare-and-set, so two coordinators (or two
// nodes racing) can never spend one use twice.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { decode } from '../proto/decode.js';
import { labelsSchema, type Labels } from '../proto/names.js';
import { nodePermissions } from '../proto/permissions.js';
import { Buckets } from '../proto/subjects.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { openKv } from '../lib/nats.js';
import { followKv } from '../lib/kv-follow.js';
import { accountUpdateSubject, revokeUser, signUserJwt, type NatsTrust } from '../lib/trust/nats-jwt.js';
import { writeFileAtomic } from '../lib/write-file-atomic.js';
import { caHash } from '../lib/trust/pin.js';

const tokenRecordSchema = z.object({
  id: z.string(),
  secretSha256: z.string(),
  labels: labelsSchema,
  createdAt: z.number(),
  expiresAt: z.number(),
  usesLeft: z.number().int().min(0),
  /** Nodes that joined with it, for the audit trail. */
  joined: z.array(z.object({ node: z.string(), publicKey: z.string(), at: z.number() })).default([]),
});
type TokenRecord = z.infer<typeof tokenRecordSchema>;

export interface EnrollmentOptions {
  nc: NatsConnection;
  /** A system-account connection: account JWT updates (revocations) go to the servers over it. */
  systemNc: NatsConnection;
  trust: NatsTrust;
  /** Where the trust's keys and revocations are kept (trust.json): a revocation is written there first. */
  trustFile: string;
  caPem: string;
  log: Logger;
}

/** A node's enrolled key and the labels its token bound it to (empty: the node chooses its own). */
const enrolledSchema = z.object({ node: z.string(), publicKey: z.string(), at: z.number(), labels: labelsSchema.default({}) });

/** How often a compare-and-set on a token is retried when another writer got there first. */
const CAS_TRIES = 5;

export class Enrollment {
  private kv: KV | undefined;
  private readonly bound = new Map<string, Labels>();
  private stopFollowing: (() => void) | undefined;

  constructor(private readonly opts: EnrollmentOptions) {}

  /** Opens the tokens bucket and follows the enrolled nodes' bound labels. */
  async start(): Promise<void> {
    this.kv = await openKv(this.opts.nc, Buckets.tokens);
    this.stopFollowing = await followKv(this.opts.nc, Buckets.tokens, 'node.>', (key, text) => {
      const node = key.slice('node.'.length);
      const r = text === undefined ? undefined : decode(enrolledSchema, text);
      if (r?.ok && Object.keys(r.value.labels).length > 0) this.bound.set(node, r.value.labels);
      else this.bound.delete(node);
    }, this.opts.log);
  }

  stop(): void {
    this.stopFollowing?.();
  }

  /**
   * The labels a node's join token bound it to: the coordinator places by these, whatever the
   * node advertises (a node taken over cannot claim `role=db` to be sent db work). Undefined
   * when its token had no labels (or it did not enroll with a token).
   */
  boundLabels(node: string): Labels | undefined {
    return this.bound.get(node);
  }

  private store(): KV {
    if (!this.kv) throw new MeshrunError(ErrorCode.Internal, 'enrollment not started');
    return this.kv;
  }

  /** A new token; the secret is returned once and stored only as a hash. */
  async createToken(o: { labels: Labels; ttlMs: number; uses: number }, now = Date.now()): Promise<{ token: string; id: string; expiresAt: number; uses: number }> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const rec: TokenRecord = { id, secretSha256: sha256(secret), labels: o.labels, createdAt: now, expiresAt: now + o.ttlMs, usesLeft: o.uses, joined: [] };
    await this.store().create(id, JSON.stringify(rec));
    this.opts.log.info('join token created', { id, labels: o.labels, uses: o.uses, expiresAt: new Date(rec.expiresAt).toISOString() });
    return { token: `mrj1.${id}.${secret}.${caHash(this.opts.caPem)}`, id, expiresAt: rec.expiresAt, uses: o.uses };
  }

  private async enrolled(node: string): Promise<z.infer<typeof enrolledSchema> | undefined> {
    const e = await this.store().get(nodeKey(node));
    if (!e || e.operation !== 'PUT') return undefined;
    const r = decode(enrolledSchema, e.string());
    return r.ok ? r.value : undefined;
  }

  /**
   * Revokes the node's bus credential (`meshrun node remove`): the revocation is written to
   * trust.json, then the account JWT that carries it is pushed to the servers, which
   * disconnect the node and refuse it from then on. False when the node never enrolled.
   */
  async revokeNode(node: string, now = Date.now()): Promise<Revocation> {
    const t0 = Date.now();
    const rec = await this.enrolled(node);
    if (!rec) return { revoked: false, tookMs: 0 };
    await this.revokeKey(rec.publicKey, node, now);
    await this.store().delete(nodeKey(node));
    return { revoked: true, tookMs: Date.now() - t0 };
  }

  private async revokeKey(publicKey: string, node: string, now: number): Promise<void> {
    // revocations cover credentials issued up to their time (whole seconds): one issued in
    // this very second must be covered too
    const jwt = await revokeUser(this.opts.trust, publicKey, now + 1000);
    writeFileAtomic(this.opts.trustFile, JSON.stringify(this.opts.trust, null, 2) + '\n', 0o600);
    const reply = await this.opts.systemNc.request(accountUpdateSubject(this.opts.trust.account.publicKey), jwt, { timeout: 5000 });
    const text = new TextDecoder().decode(reply.data);
    if (!/jwt updated/.test(text)) throw new MeshrunError(ErrorCode.Internal, `the servers did not take the revocation of ${node}'s credential: ${text.slice(0, 300)}`);
    this.opts.log.warn('node credential revoked', { node, publicKey });
  }

  /** Spends one use of the token and signs the node's credential; refuses with a reason that names the token's problem. */
  async join(token: string, node: string, publicKey: string, now = Date.now()): Promise<{ jwt: string; caPem: string; labels: Labels }> {
    const [, id, secret] = token.split('.');
    const refused = (why: string): MeshrunError => {
      this.opts.log.warn('join refused', { id, node, why });
      return new MeshrunError(ErrorCode.InvalidInput, `join token refused: ${why}`);
    };
    for (let i = 0; i < CAS_TRIES; i++) {
      const e = await this.store().get(id!);
      if (!e || e.operation !== 'PUT') throw refused('unknown token');
      const r = decode(tokenRecordSchema, e.string());
      if (!r.ok) throw refused('the token record is damaged');
      const rec = r.value;
      if (!sameSecret(rec.secretSha256, secret!)) throw refused('wrong secret');
      if (now >= rec.expiresAt) throw refused(`expired at ${new Date(rec.expiresAt).toISOString()}`);
      if (rec.usesLeft <= 0) throw refused('used up');
      rec.usesLeft -= 1;
      rec.joined.push({ node, publicKey, at: now });
      try {
        await this.store().update(id!, JSON.stringify(rec), e.revision);
      } catch {
        continue; // another join spent a use meanwhile: read again
      }
      const jwt = await signUserJwt(this.opts.trust, `node-${node}`, publicKey, nodePermissions(node));
      // the node's key, for revocation; a node enrolled again replaces it (the old one is revoked)
      const prev = await this.enrolled(node);
      await this.store().put(nodeKey(node), JSON.stringify({ node, publicKey, at: now, labels: rec.labels }));
      if (prev && prev.publicKey !== publicKey) await this.revokeKey(prev.publicKey, node, now);
      this.opts.log.info('node enrolled', { node, token: id, publicKey });
      return { jwt, caPem: this.opts.caPem, labels: rec.labels };
    }
    throw new MeshrunError(ErrorCode.Conflict, 'join token is being used by other nodes right now: try again');
  }
}

export interface Revocation {
  revoked: boolean;
  /** ms from the request until the servers acknowledged the account update */
  tookMs: number;
}

/** KV key of a node's enrolled public key (token ids are hex, so the two never collide). */
function nodeKey(node: string): string {
  return `node.${node}`;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function sameSecret(storedSha256: string, secret: string): boolean {
  const a = Buffer.from(storedSha256, 'hex');
  const b = Buffer.from(sha256(secret), 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
