// Authentication, authorization and audit for every gRPC call, in one server interceptor, so
// no handler (unary or streaming, present or future) can be reached around it. The caller is
// the user whose registered client certificate the TLS connection presented; its role must be
// at least what proto/roles.ts names for the method; mutating and refused calls are audited.
// Handlers learn the caller from metadata the interceptor sets (a client's own copy is dropped).
import * as grpc from '@grpc/grpc-js';
import type { AuditEntry } from '../proto/audit.js';
import { methodName, methodNeeds, MUTATING, roleAllows, type Role } from '../proto/roles.js';
import type { Logger } from '../lib/log.js';
import type { AuditLog } from './audit.js';
import type { Caller, UserRegistry } from './users.js';

const CALLER_USER = 'x-meshrun-caller-user';
const CALLER_ROLE = 'x-meshrun-caller-role';
const CALLER_NOT_AFTER = 'x-meshrun-caller-not-after';
/** How long a refused call may take to send its request (for the audit record) before it is refused anyway. */
const REFUSE_WAIT_MS = 2000;

export interface ApiAuthOptions {
  /** Who a TLS peer is: the user registry's, or, for a coordinator started --insecure, everyone an admin. */
  authenticate: UserRegistry['authenticate'];
  audit: AuditLog;
  log: Logger;
}

/** The caller of a call that passed the interceptor (undefined for `anyone` methods called anonymously). */
export function callerOf(call: { metadata: grpc.Metadata }): Caller | undefined {
  const user = call.metadata.get(CALLER_USER)[0];
  if (typeof user !== 'string' || user === '') return undefined;
  return { user, role: call.metadata.get(CALLER_ROLE)[0] as Role, certNotAfter: Number(call.metadata.get(CALLER_NOT_AFTER)[0]) };
}

/** What a request names, for the audit trail: a job id, a node, user or client name, a blob. */
function targetOf(msg: unknown): string {
  if (!msg || typeof msg !== 'object') return '';
  const m = msg as Record<string, unknown>;
  for (const k of ['id', 'name', 'client', 'node', 'sha256']) if (typeof m[k] === 'string' && m[k] !== '') return String(m[k]).slice(0, 256);
  if (m.labels && typeof m.labels === 'object') return Object.entries(m.labels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',').slice(0, 256);
  return '';
}

export function apiAuthInterceptor(o: ApiAuthOptions): grpc.ServerInterceptor {
  return (method, call) => {
    const name = methodName(method.path);
    const need = methodNeeds(method.path);
    const peer = call.getPeer();
    let caller: Caller | undefined;
    let target = '';
    let refused: { outcome: AuditEntry['outcome']; code: grpc.status; details: string } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let refusedSent = false;
    const refuse = (): void => {
      if (!refused || refusedSent) return;
      refusedSent = true;
      clearTimeout(timer);
      o.log.warn('gRPC call refused', { method: name, peer, user: caller?.user, target, why: refused.details });
      audit(refused.outcome, refused.details);
      call.sendStatus({ code: refused.code, details: refused.details });
    };
    const audit = (outcome: AuditEntry['outcome'], detail: string): void =>
      o.audit.record({ at: Date.now(), user: caller?.user ?? '', role: caller?.role ?? '', method: name, target, peer: peer.slice(0, 128), outcome, detail: detail.slice(0, 1024) });

    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (md, mdNext) => {
            md.remove(CALLER_USER);
            md.remove(CALLER_ROLE);
            md.remove(CALLER_NOT_AFTER);
            const who = o.authenticate(call.getAuthContext()?.sslPeerCertificate);
            if (who.ok) caller = who.caller;
            if (need !== 'anyone') {
              if (!who.ok) refused = { outcome: 'unauthenticated', code: grpc.status.UNAUTHENTICATED, details: who.reason };
              else if (!roleAllows(who.caller.role, need)) {
                refused = { outcome: 'denied', code: grpc.status.PERMISSION_DENIED, details: `${who.caller.user} is ${who.caller.role === 'admin' ? 'an' : 'a'} ${who.caller.role}; ${name} needs the ${need} role` };
              }
            }
            if (refused) {
              // read the request before refusing, so the audit record names what was asked for
              call.startRead();
              timer = setTimeout(refuse, REFUSE_WAIT_MS);
              return;
            }
            if (caller) {
              md.set(CALLER_USER, caller.user);
              md.set(CALLER_ROLE, caller.role);
              md.set(CALLER_NOT_AFTER, String(caller.certNotAfter));
            }
            mdNext(md);
          },
          onReceiveMessage: (msg, msgNext) => {
            if (target === '') target = targetOf(msg);
            if (refused) return refuse();
            msgNext(msg);
          },
          onReceiveHalfClose: (hcNext) => {
            if (refused) return refuse();
            hcNext();
          },
          onCancel: () => clearTimeout(timer),
        });
      },
      sendStatus: (status, next) => {
        if (!refused && MUTATING.has(name)) audit(status.code === grpc.status.OK ? 'ok' : 'error', status.code === grpc.status.OK ? '' : (status.details ?? ''));
        next(status);
      },
    });
  };
}

/** The caller of a coordinator started with --insecure (loopback only): everyone, as admin. */
export const INSECURE_CALLER: Caller = { user: '(insecure)', role: 'admin', certNotAfter: 0 };
