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
import { signUserJwt, type NatsTrust } from '../lib/trust/nats-jwt.js';

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
  trust: NatsTrust;
  caPem: string;
  log: Logger;
}

/** How often a compare-and-set on a token is retried when another writer got there first. */
const CAS_TRIES = 5;

export class Enrollment {
  private kv: KV | undefined;

  constructor(private readonly opts: EnrollmentOptions) {}

  async start(): Promise<void> {
    this.kv = await openKv(this.opts.nc, Buckets.tokens);
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
    return { token: `mrj1.${id}.${secret}`, id, expiresAt: rec.expiresAt, uses: o.uses };
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
      this.opts.log.info('node enrolled', { node, token: id, publicKey });
      return { jwt, caPem: this.opts.caPem, labels: rec.labels };
    }
    throw new MeshrunError(ErrorCode.Conflict, 'join token is being used by other nodes right now: try again');
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function sameSecret(storedSha256: string, secret: string): boolean {
  const a = Buffer.from(storedSha256, 'hex');
  const b = Buffer.from(sha256(secret), 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
