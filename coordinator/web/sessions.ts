// The dashboard's logins and sessions, in memory and bounded: a login token (issued over gRPC to
// a user its client certificate named) is exchanged once for a session; only SHA-256 hashes of
// tokens and session ids are kept, so a heap dump does not hand out sessions.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../../proto/roles.js';
import { WebLimits } from '../../proto/web.js';
import { ErrorCode, MeshrunError } from '../../lib/errors.js';

export interface Session {
  user: string;
  /** The role at login; every request also checks the user's role now (users.ts), and takes the lower. */
  role: Role;
  /** Sent back in the CSRF header with every action. */
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

interface PendingLogin {
  user: string;
  role: Role;
  expiresAt: number;
  sessionNotAfter: number;
}

export interface SessionLimits {
  sessionsMax: number;
  sessionsPerUser: number;
  sessionTtlMs: number;
  loginTokensMax: number;
  loginTokensPerUser: number;
  loginTokenTtlMs: number;
}

const hash = (s: string): string => createHash('sha256').update(s).digest('base64url');
const secret = (): string => randomBytes(32).toString('base64url');

export class SessionStore {
  // Maps keep insertion order: the first entry is the oldest
  private readonly logins = new Map<string, PendingLogin>();
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly limits: SessionLimits = WebLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** A one-time login token for `user`; its session ends by `notAfter` at the latest (the user's certificate). */
  issueLogin(user: string, role: Role, notAfter: number): { token: string; expiresAt: number } {
    const now = this.now();
    this.sweep(now);
    const mine = [...this.logins.values()].filter((l) => l.user === user).length;
    if (mine >= this.limits.loginTokensPerUser) {
      throw new MeshrunError(ErrorCode.TooLarge, `${user} has ${mine} unused web login tokens, the most one user may have; use one or wait ${Math.ceil(this.limits.loginTokenTtlMs / 60_000)} min for them to lapse`);
    }
    if (this.logins.size >= this.limits.loginTokensMax) {
      throw new MeshrunError(ErrorCode.TooLarge, `${this.logins.size} web login tokens are waiting, the most the coordinator holds; try again in a few minutes`);
    }
    const token = `mrw1.${secret()}`;
    const expiresAt = now + this.limits.loginTokenTtlMs;
    this.logins.set(hash(token), { user, role, expiresAt, sessionNotAfter: notAfter > 0 ? notAfter : Number.MAX_SAFE_INTEGER });
    return { token, expiresAt };
  }

  /** Uses a login token up (once, valid or not) and opens a session; the session id goes into the cookie. */
  redeem(token: string): { id: string; session: Session } {
    const now = this.now();
    this.sweep(now);
    const key = hash(token);
    const login = this.logins.get(key);
    this.logins.delete(key);
    if (!login || login.expiresAt <= now) throw new MeshrunError(ErrorCode.Unauthenticated, 'this login token is unknown, used or expired: run meshrun web login for a new one');
    const mine = [...this.sessions.entries()].filter(([, s]) => s.user === login.user);
    if (mine.length >= this.limits.sessionsPerUser) this.sessions.delete(mine[0]![0]);
    if (this.sessions.size >= this.limits.sessionsMax) this.sessions.delete(this.sessions.keys().next().value!);
    const id = secret();
    const session: Session = { user: login.user, role: login.role, csrf: secret(), createdAt: now, expiresAt: Math.min(now + this.limits.sessionTtlMs, login.sessionNotAfter) };
    this.sessions.set(hash(id), session);
    return { id, session };
  }

  /** The session a cookie names, if it is still valid. */
  get(id: string | undefined): Session | undefined {
    if (!id || id.length > 64) return undefined;
    const key = hash(id);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return s;
  }

  end(id: string | undefined): void {
    if (id) this.sessions.delete(hash(id));
  }

  /** Ends every session of a user (removed from the fleet). */
  endUser(user: string): void {
    for (const [k, s] of this.sessions) if (s.user === user) this.sessions.delete(k);
  }

  get size(): { sessions: number; logins: number } {
    return { sessions: this.sessions.size, logins: this.logins.size };
  }

  private sweep(now: number): void {
    for (const [k, l] of this.logins) if (l.expiresAt <= now) this.logins.delete(k);
    for (const [k, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(k);
  }
}

/** The CSRF header matches the session's token (compared in constant time). */
export function csrfMatches(session: Session, header: string | undefined): boolean {
  if (!header) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(header);
  return a.length === b.length && timingSafeEqual(a, b);
}
