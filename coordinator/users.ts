// Users of the gRPC API. A user is a name, a role and the client certificates issued to it
// (by their SHA-256 fingerprint); the records live in JetStream KV, so every coordinator sees
// the same users and a removal holds everywhere at once. A call authenticates with a client
// certificate the fleet CA signed (TLS checks the chain and the dates) whose fingerprint is
// registered to an active user: a removed user's certificates stop working on the next call,
// without a CRL. The role comes from the record, never from the certificate.
import { X509Certificate } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { decode } from '../proto/decode.js';
import { roleSchema, userNameSchema, type Role } from '../proto/roles.js';
import { Buckets } from '../proto/subjects.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { openKv } from '../lib/nats.js';
import { followKv } from '../lib/kv-follow.js';
import { issueCert, type CertAndKey } from '../lib/trust/x509.js';

/** Certificates one user may hold at once (rotation keeps the old one until it is removed). */
const MAX_CERTS_PER_USER = 8;
/** Users one fleet may have: the registry is held in memory by every coordinator. */
export const MAX_USERS = 10_000;

const userCertSchema = z.object({ fingerprint: z.string(), serial: z.string(), issuedAt: z.number(), notAfter: z.number() });
export const userRecordSchema = z.object({
  name: userNameSchema,
  role: roleSchema,
  createdAt: z.number(),
  createdBy: z.string(),
  /** Set when the user was removed: the record stays, so nothing re-creates the user by accident. */
  removedAt: z.number().nullable().default(null),
  certs: z.array(userCertSchema).max(MAX_CERTS_PER_USER),
});
export type UserRecord = z.infer<typeof userRecordSchema>;

/** A user `meshrun init` issued before any coordinator ran; the coordinator registers it once. */
export const bootstrapUserSchema = z.object({ name: userNameSchema, role: roleSchema, certPem: z.string() });

export interface Caller {
  user: string;
  role: Role;
  certNotAfter: number;
}

export type Authentication = { ok: true; caller: Caller } | { ok: false; reason: string };

export function userKey(name: string): string {
  return `user.${name}`;
}

export class UserRegistry {
  private kv: KV | undefined;
  private readonly byFingerprint = new Map<string, { name: string }>();
  private readonly users = new Map<string, UserRecord>();
  private watchStop: (() => void) | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly ca: CertAndKey,
    private readonly log: Logger,
  ) {}

  /** Opens the bucket and follows it; resolves once every existing user is known. */
  async start(): Promise<void> {
    this.kv = await openKv(this.nc, Buckets.users);
    this.watchStop = await followKv(this.nc, Buckets.users, 'user.>', (key, text) => this.take(key, text), this.log);
  }

  private take(key: string, text: string | undefined): void {
    const name = key.slice('user.'.length);
    if (text === undefined) return this.forget(name);
    const r = decode(userRecordSchema, text);
    if (!r.ok) {
      this.log.warn('damaged user record ignored', { key, errors: r.errors.slice(0, 3) });
      return this.forget(name);
    }
    this.remember(r.value);
  }

  /** The fleet CA certificate, for a new user's client config. */
  get caPem(): string {
    return this.ca.certPem;
  }

  stop(): void {
    this.watchStop?.();
  }

  private forget(name: string): void {
    const old = this.users.get(name);
    if (!old) return;
    for (const c of old.certs) this.byFingerprint.delete(c.fingerprint);
    this.users.delete(name);
  }

  private remember(rec: UserRecord): void {
    this.forget(rec.name);
    this.users.set(rec.name, rec);
    if (rec.removedAt === null) for (const c of rec.certs) this.byFingerprint.set(c.fingerprint, { name: rec.name });
  }

  private store(): KV {
    if (!this.kv) throw new MeshrunError(ErrorCode.Internal, 'user registry not started');
    return this.kv;
  }

  /** Who a TLS peer is; `cert` is only ever a certificate the fleet CA signed (grpc-js checks it). */
  authenticate(cert: PeerCertificate | undefined, now = Date.now()): Authentication {
    if (!cert?.fingerprint256) return { ok: false, reason: 'no client certificate signed by this fleet\'s CA (point MESHRUN_CONFIG at the config meshrun init or meshrun user add wrote)' };
    const hit = this.byFingerprint.get(cert.fingerprint256);
    const rec = hit ? this.users.get(hit.name) : undefined;
    if (!rec || rec.removedAt !== null) return { ok: false, reason: `the certificate of ${cert.subject?.CN ?? 'this client'} is not registered to an active user (removed, or never added)` };
    const c = rec.certs.find((x) => x.fingerprint === cert.fingerprint256)!;
    if (now >= c.notAfter) return { ok: false, reason: `the certificate of ${rec.name} expired at ${new Date(c.notAfter).toISOString()}` };
    return { ok: true, caller: { user: rec.name, role: rec.role, certNotAfter: c.notAfter } };
  }

  /** The role of an active user now (undefined: removed or unknown), for sessions that outlive a call (the web dashboard's). */
  activeRole(name: string): Role | undefined {
    const rec = this.users.get(name);
    return rec && rec.removedAt === null ? rec.role : undefined;
  }

  list(): UserRecord[] {
    return [...this.users.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Signs `publicKeyPem` into a client certificate for a new user. */
  async add(o: { name: string; role: Role; publicKeyPem: string; validMs: number; by: string }, now = Date.now()): Promise<{ record: UserRecord; certPem: string }> {
    const existing = this.users.get(o.name);
    if (existing && existing.removedAt === null) throw new MeshrunError(ErrorCode.Conflict, `user ${o.name} exists (role ${existing.role}): meshrun user remove ${o.name} first to issue a new credential`);
    if (!existing && this.users.size >= MAX_USERS) throw new MeshrunError(ErrorCode.TooLarge, `the fleet has ${MAX_USERS} users, the most it may have (remove some first)`);
    const validDays = Math.max(1, Math.ceil(o.validMs / 86_400_000));
    const { certPem } = await issueCert(this.ca, { commonName: o.name, usage: 'client', validDays, publicKeyPem: o.publicKeyPem });
    const record = await this.register({ name: o.name, role: o.role, certPem, by: o.by }, now);
    return { record, certPem };
  }

  /** Writes the user record for a certificate the CA just signed; a removed user's record is replaced. */
  private async register(o: { name: string; role: Role; certPem: string; by: string }, now: number): Promise<UserRecord> {
    const cert = certInfo(o.certPem);
    const record: UserRecord = { name: o.name, role: o.role, createdAt: now, createdBy: o.by, removedAt: null, certs: [{ ...cert, issuedAt: now }] };
    const kv = this.store();
    const e = await kv.get(userKey(o.name));
    if (e && e.operation === 'PUT') await kv.update(userKey(o.name), JSON.stringify(record), e.revision);
    else await kv.create(userKey(o.name), JSON.stringify(record));
    this.remember(record);
    this.log.info('user added', { user: o.name, role: o.role, by: o.by, notAfter: new Date(cert.notAfter).toISOString() });
    return record;
  }

  /** Revokes every certificate of the user at once (on every coordinator: they watch the bucket). */
  async remove(name: string, by: string, now = Date.now()): Promise<{ certsRevoked: number }> {
    const kv = this.store();
    const e = await kv.get(userKey(name));
    const r = e && e.operation === 'PUT' ? decode(userRecordSchema, e.string()) : undefined;
    if (!r?.ok || r.value.removedAt !== null) throw new MeshrunError(ErrorCode.NotFound, `no user ${name}`);
    if (r.value.role === 'admin' && this.list().filter((u) => u.role === 'admin' && u.removedAt === null).length <= 1) {
      throw new MeshrunError(ErrorCode.Conflict, `${name} is the last admin: add another admin first, or nobody could manage the fleet any more`);
    }
    const record = { ...r.value, removedAt: now };
    await kv.update(userKey(name), JSON.stringify(record), e!.revision);
    this.remember(record);
    this.log.warn('user removed', { user: name, by, certs: record.certs.length });
    return { certsRevoked: record.certs.length };
  }

  /**
   * Registers the users `meshrun init` issued (trust/users/bootstrap.json) unless a record of
   * that name exists, removed or not: a removed bootstrap admin stays removed.
   */
  async importBootstrap(file: string, now = Date.now()): Promise<string[]> {
    if (!existsSync(file)) return [];
    const r = decode(z.array(bootstrapUserSchema), readFileSync(file, 'utf8'));
    if (!r.ok) throw new MeshrunError(ErrorCode.InvalidInput, `${file}: ${r.errors.join('; ')}`);
    const added: string[] = [];
    for (const u of r.value) {
      if (await this.store().get(userKey(u.name))) continue;
      try {
        await this.register({ name: u.name, role: u.role, certPem: u.certPem, by: 'meshrun init' }, now);
        added.push(u.name);
      } catch (err) {
        // another coordinator registered it first
        if (!(await this.store().get(userKey(u.name)))) throw err;
      }
    }
    return added;
  }
}

function certInfo(certPem: string): { fingerprint: string; serial: string; notAfter: number } {
  const c = new X509Certificate(certPem);
  // the fingerprint as TLS peers report it (`AB:CD:...`), which authenticate() looks up
  return { fingerprint: c.fingerprint256, serial: c.serialNumber, notAfter: Date.parse(c.validTo) };
}
