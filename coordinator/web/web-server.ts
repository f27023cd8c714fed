// The web dashboard: its own HTTPS port on the leading coordinator, serving the pages and
// assets in coordinator/web/assets/ (nothing from elsewhere) and a JSON API over the same read
// paths and the same role table (proto/roles.ts) as the gRPC API. A user logs in with a one-time
// token from `meshrun web login` (gRPC, their client certificate); the session is an HttpOnly,
// Secure, SameSite=Strict cookie; every action also needs the session's CSRF token in a header.
// docs/web.md argues the design.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { AuditEntry } from '../../proto/audit.js';
import { listSchedulesRequestSchema } from '../../proto/schedule.js';
import { roleAllows, ROLES, type Role } from '../../proto/roles.js';
import { formatIssues } from '../../proto/validation.js';
import { CSRF_HEADER, jobIdParamSchema, jobsQuerySchema, nodeParamSchema, resumeIdSchema, SESSION_COOKIE, webLoginBodySchema, WebLimits } from '../../proto/web.js';
import { ErrorCode, isMeshrunError, MeshrunError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { AuditLog } from '../audit.js';
import type { Coordinator } from '../coordinator.js';
import { listNodeMsgs } from '../grpc-server.js';
import type { MeshCoordinator } from '../mesh/mesh-coordinator.js';
import { toScheduleMsg } from '../schedule-msg.js';
import type { UserRegistry } from '../users.js';
import { actionsFor, needOf, WEB_ACTIONS, type RpcMethod } from './actions.js';
import { loadAssets, type Asset } from './assets.js';
import { JobList } from './job-list.js';
import { streamJob } from './job-stream.js';
import { csrfMatches, SessionStore, type Session } from './sessions.js';
import { jobView } from './views.js';

export interface WebServerOptions {
  /** HOST:PORT (port 0: any free one). */
  listen: string;
  tls: { certFile: string; keyFile: string };
  users: Pick<UserRegistry, 'activeRole'>;
  audit: Pick<AuditLog, 'record'>;
  mesh: MeshCoordinator | undefined;
  sessions: SessionStore;
  log: Logger;
}

export interface WebServer {
  port: number;
  close(): Promise<void>;
}

interface Who {
  id: string;
  session: Session;
  user: string;
  role: Role;
}

const HTTP_STATUS: Partial<Record<string, number>> = {
  [ErrorCode.Usage]: 400,
  [ErrorCode.InvalidInput]: 400,
  [ErrorCode.Unsafe]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.TooLarge]: 429,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Denied]: 403,
  [ErrorCode.Unreachable]: 503,
};

/** A request body over its limit: 413, where the other limits (sessions, live views) are 429. */
class BodyTooLarge extends MeshrunError {
  constructor() {
    super(ErrorCode.TooLarge, `a request body is at most ${WebLimits.bodyMaxBytes} bytes (limit bodyMaxBytes)`);
  }
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Pages the single-page app draws; without a session they send the browser to /login. */
const PAGES = /^\/(|nodes|jobs|jobs\/[^/]+|mesh|schedules)$/;

function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new MeshrunError(ErrorCode.InvalidInput, `${what}: ${formatIssues(r.error).join('; ')}`);
  return r.data;
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

const lowerRole = (a: Role, b: Role): Role => (ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b);

export async function startWebServer(c: Coordinator, o: WebServerOptions): Promise<WebServer> {
  const { log, sessions } = o;
  const assets = loadAssets();
  const jobs = new JobList(c);
  const streams = new Map<string, number>();
  let streamsOpen = 0;
  const open = new Set<ServerResponse>();

  const readTls = () => ({ cert: readFileSync(o.tls.certFile), key: readFileSync(o.tls.keyFile) });
  const server: Server = createServer({ ...readTls(), minVersion: 'TLSv1.2' }, (req, res) => {
    void handle(req, res).catch((err) => fail(req, res, err));
  });
  // certificates renewed on disk are taken without a restart (as the gRPC port does)
  const tlsTimer = setInterval(() => {
    try {
      server.setSecureContext(readTls());
    } catch (err) {
      log.warn('web TLS files unreadable; the old ones stay', { err });
    }
  }, 60_000);
  tlsTimer.unref();
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.maxHeadersCount = 64;

  const audit = (who: Who | undefined, method: string, target: string, req: IncomingMessage, outcome: AuditEntry['outcome'], detail = ''): void =>
    o.audit.record({ at: Date.now(), user: who?.user ?? '', role: who?.role ?? '', method, target: target.slice(0, 256), peer: `web:${req.socket.remoteAddress ?? ''}`.slice(0, 128), outcome, detail: detail.slice(0, 1024) });

  const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string | string[]> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  };

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    const status = err instanceof BodyTooLarge ? 413 : isMeshrunError(err) ? (HTTP_STATUS[err.code] ?? 500) : 500;
    if (status === 500) log.error('web request failed', { err, path: req.url?.slice(0, 200) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    json(res, status, { error: status === 500 ? 'internal error (see the coordinator log)' : (err as Error).message, code: isMeshrunError(err) ? err.code : ErrorCode.Internal });
  };

  /** The session the cookie names, with the user's role as it is now (a removed user has none). */
  const whoIs = (req: IncomingMessage): Who | undefined => {
    const id = cookieOf(req, SESSION_COOKIE);
    const session = sessions.get(id);
    if (!id || !session) return undefined;
    const now = o.users.activeRole(session.user);
    if (!now) {
      sessions.endUser(session.user);
      return undefined;
    }
    return { id, session, user: session.user, role: lowerRole(session.role, now) };
  };

  const needSession = (req: IncomingMessage): Who => {
    const who = whoIs(req);
    if (!who) throw new MeshrunError(ErrorCode.Unauthenticated, 'not logged in (or the session ended): run meshrun web login and open the link it prints');
    return who;
  };

  const needRole = (who: Who, method: RpcMethod, target: string, req: IncomingMessage): void => {
    const need = needOf(method);
    if (need === 'anyone' || roleAllows(who.role, need)) return;
    const detail = `${who.user} is ${who.role === 'admin' ? 'an' : 'a'} ${who.role}; ${method} needs the ${need} role`;
    audit(who, method, target, req, 'denied', detail);
    log.warn('web request refused', { method, user: who.user, target, why: detail });
    throw new MeshrunError(ErrorCode.Denied, detail);
  };

  /** A request that changes something: same origin, JSON, and (with a session) the CSRF header. */
  const checkWrite = (req: IncomingMessage, who: Who | undefined): void => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `https://${req.headers.host}`) throw new MeshrunError(ErrorCode.Denied, `a request from ${origin.slice(0, 100)} is refused: the dashboard takes actions only from its own pages`);
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new MeshrunError(ErrorCode.InvalidInput, 'the request body must be application/json');
    if (who && !csrfMatches(who.session, req.headers[CSRF_HEADER] as string | undefined)) throw new MeshrunError(ErrorCode.Denied, `the ${CSRF_HEADER} header is missing or wrong: reload the page`);
  };

  const body = async (req: IncomingMessage): Promise<unknown> => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > WebLimits.bodyMaxBytes) throw new BodyTooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > WebLimits.bodyMaxBytes) throw new BodyTooLarge();
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return {};
    try {
      return JSON.parse(text);
    } catch {
      throw new MeshrunError(ErrorCode.InvalidInput, 'the request body is not JSON');
    }
  };

  const sendAsset = (req: IncomingMessage, res: ServerResponse, a: Asset): void => {
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, { ...SECURITY_HEADERS, etag: a.etag });
      res.end();
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': a.type, 'content-length': a.body.length, etag: a.etag, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  };

  const jobOrThrow = async (id: string) => {
    const job = await c.getJob(id);
    if (!job) throw new MeshrunError(ErrorCode.NotFound, `no job ${id}`);
    return job;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://dashboard');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const seg = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));

    if (method === 'GET' || method === 'HEAD') {
      if (path.startsWith('/assets/')) {
        const a = assets.get(path.slice('/assets/'.length));
        if (!a) throw new MeshrunError(ErrorCode.NotFound, `no asset ${path.slice(0, 100)}`);
        return sendAsset(req, res, a);
      }
      if (path === '/login') return sendAsset(req, res, assets.get('login.html')!);
      if (PAGES.test(path)) {
        if (!whoIs(req)) {
          res.writeHead(302, { ...SECURITY_HEADERS, location: '/login', 'cache-control': 'no-store' });
          res.end();
          return;
        }
        return sendAsset(req, res, assets.get('index.html')!);
      }
    }

    if (seg[0] !== 'api') throw new MeshrunError(ErrorCode.NotFound, `no page ${path.slice(0, 100)}`);
    // `GET /jobs/:name/stream`: the name (a job id or node) stands apart from the route
    const parts = seg.slice(1);
    if ((parts[0] === 'jobs' || parts[0] === 'nodes') && parts.length >= 2) parts[1] = ':name';
    const route = `${method} /${parts.join('/')}`;

    if (route === 'POST /login') {
      checkWrite(req, undefined);
      const { token } = parse(webLoginBodySchema, await body(req), 'login');
      const { id, session } = sessions.redeem(token);
      log.info('web login', { user: session.user, role: session.role, peer: req.socket.remoteAddress });
      audit({ id, session, user: session.user, role: session.role }, 'WebLogin', session.user, req, 'ok');
      const maxAge = Math.max(1, Math.floor((session.expiresAt - Date.now()) / 1000));
      return json(res, 200, { user: session.user, role: session.role, expiresAtMs: session.expiresAt }, { 'set-cookie': `${SESSION_COOKIE}=${id}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=${maxAge}` });
    }

    const who = needSession(req);
    const name = seg[2] ?? '';
    switch (route) {
      case 'POST /logout':
        checkWrite(req, who);
        sessions.end(who.id);
        return json(res, 200, { ok: true }, { 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0` });
      case 'GET /me':
        return json(res, 200, { user: who.user, role: who.role, csrf: who.session.csrf, expiresAtMs: who.session.expiresAt, actions: actionsFor(who.role), artifacts: roleAllows(who.role, needOf('GetArtifacts')) });
      case 'GET /nodes': {
        needRole(who, 'ListNodes', '', req);
        const mesh = o.mesh?.status();
        const sync = Object.fromEntries((mesh?.members ?? []).map((m) => [m.name, { inSync: m.inSync, appliedVersion: m.appliedVersion, desiredVersion: m.desiredVersion, statusAgeMs: m.statusAgeMs, error: m.error }]));
        return json(res, 200, { nodes: listNodeMsgs(c), mesh: mesh ? sync : null });
      }
      case 'GET /jobs': {
        needRole(who, 'ListJobs', '', req);
        const q = parse(jobsQuerySchema, Object.fromEntries(url.searchParams), 'jobs query');
        return json(res, 200, await jobs.page(q));
      }
      case 'GET /jobs/:name': {
        needRole(who, 'GetJob', name, req);
        return json(res, 200, jobView(await jobOrThrow(parse(jobIdParamSchema, name, 'job id'))));
      }
      case 'GET /jobs/:name/stream': {
        needRole(who, 'FollowLogs', name, req);
        const job = await jobOrThrow(parse(jobIdParamSchema, name, 'job id'));
        const resume = parse(resumeIdSchema, String(req.headers['last-event-id'] ?? url.searchParams.get('from') ?? ''), 'Last-Event-ID');
        const mine = streams.get(who.user) ?? 0;
        if (mine >= WebLimits.streamsPerUser) throw new MeshrunError(ErrorCode.TooLarge, `${who.user} has ${mine} live views open, the most one user may have: close some tabs`);
        if (streamsOpen >= WebLimits.streamsMax) throw new MeshrunError(ErrorCode.TooLarge, `${streamsOpen} live views are open, the most the dashboard serves: try again later`);
        streams.set(who.user, mine + 1);
        streamsOpen++;
        const ac = new AbortController();
        res.on('close', () => ac.abort());
        open.add(res);
        try {
          await streamJob({ c, job, resume, res, signal: ac.signal, log });
        } finally {
          open.delete(res);
          streamsOpen--;
          const n = (streams.get(who.user) ?? 1) - 1;
          if (n <= 0) streams.delete(who.user);
          else streams.set(who.user, n);
        }
        return;
      }
      case 'GET /mesh':
        needRole(who, 'MeshStatus', '', req);
        return json(res, 200, o.mesh ? o.mesh.status() : null);
      case 'GET /schedules':
        needRole(who, 'ListSchedules', '', req);
        parse(listSchedulesRequestSchema, {}, 'schedules');
        return json(res, 200, { schedules: (await c.schedules.list()).map((v) => toScheduleMsg(v, false)) });
    }

    // GET /api/jobs/ID/artifacts/STAGE/ATTEMPT: one attempt's archive
    if (method === 'GET' && seg[1] === 'jobs' && seg[3] === 'artifacts' && seg.length === 6) {
      needRole(who, 'GetArtifacts', name, req);
      const job = await jobOrThrow(parse(jobIdParamSchema, name, 'job id'));
      const attempt = job.stages.find((s) => s.name === seg[4])?.attempts.find((a) => String(a.attempt) === seg[5]);
      if (!attempt?.artifacts || attempt.state === 'stale') throw new MeshrunError(ErrorCode.NotFound, `job ${job.id} has no artifacts of stage ${seg[4]} attempt ${seg[5]}`);
      const data = await c.getBlob(attempt.artifacts.object);
      if (!data) throw new MeshrunError(ErrorCode.NotFound, `the artifacts of ${seg[4]} attempt ${seg[5]} are not in the object store`);
      const sha256 = createHash('sha256').update(data).digest('hex');
      if (sha256 !== attempt.artifacts.sha256) throw new MeshrunError(ErrorCode.Internal, `the artifacts of ${seg[4]} attempt ${seg[5]} are damaged in the object store`);
      audit(who, 'GetArtifacts', job.id, req, 'ok');
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'application/gzip',
        'content-length': data.length,
        'content-disposition': `attachment; filename="${job.id}-${seg[4]}-${attempt.attempt}.tar.gz"`,
        'cache-control': 'no-store',
      });
      res.end(data);
      return;
    }

    // POST /api/jobs/ID/ACTION, POST /api/nodes/NAME/ACTION
    if (method === 'POST' && (seg[1] === 'jobs' || seg[1] === 'nodes') && seg.length === 4) {
      const action = Object.hasOwn(WEB_ACTIONS, seg[3]!) ? WEB_ACTIONS[seg[3]!] : undefined;
      if (!action || action.target !== seg[1].slice(0, -1)) throw new MeshrunError(ErrorCode.NotFound, `no action ${seg[3]} on ${seg[1]}`);
      const target = parse(action.target === 'job' ? jobIdParamSchema : nodeParamSchema, name, `${action.target} name`);
      // the role first: a viewer's forged request is refused (and audited) whatever else it carries
      needRole(who, action.method, target, req);
      checkWrite(req, who);
      try {
        const out = await action.run(c, target, who.user);
        audit(who, action.method, target, req, 'ok');
        log.info('web action', { action: seg[3], target, user: who.user });
        return json(res, 200, out);
      } catch (err) {
        audit(who, action.method, target, req, 'error', (err as Error).message);
        throw err;
      }
    }
    throw new MeshrunError(ErrorCode.NotFound, `no API ${method} ${path.slice(0, 100)}`);
  }

  const [host, portText] = splitListen(o.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  log.info('web dashboard listening', { listen: o.listen, port });
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        clearInterval(tlsTimer);
        for (const r of open) r.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** `HOST:PORT`, `[::1]:PORT` -> host and port text. */
export function splitListen(listen: string): [string, string] {
  const m = /^\[?([^\]]*)\]?:(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new MeshrunError(ErrorCode.Usage, `--web-listen ${listen}: expected HOST:PORT (0.0.0.0:8443, 127.0.0.1:0)`);
  return [m[1]!, m[2]!];
}
