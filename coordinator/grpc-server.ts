// The coordinator's gRPC door for clients: every request is validated with the
// schemas in proto/grpc.ts; errors map to gRPC status codes with a clear message.
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { z } from 'zod';
import {
  jobRefSchema,
  listJobsRequestSchema,
  joinRequestSchema,
  joinTokenRequestSchema,
  logsRequestSchema,
  meshrunServiceDefinition,
  nodeRefSchema,
  submitRequestSchema,
  retryJobRequestSchema,
  blobChunkSchema,
  addUserRequestSchema,
  auditRequestSchema,
  userRefSchema,
  type ArtifactChunkMsg,
  type JobMsg,
  type LogEventMsg,
  type NodeMsg,
  type ResourcesMsg,
} from '../proto/grpc.js';
import { resolveRetry, stageRequest } from '../proto/job-spec.js';
import { NO_RESOURCES, type Resources } from '../proto/resources.js';
import { isTerminalJob, type JobRecord } from '../proto/records.js';
import { formatIssues } from '../proto/validation.js';
import { ErrorCode, isMeshrunError, MeshrunError } from '../lib/errors.js';
import { toGrpcStatus } from '../lib/grpc-status.js';
import type { Logger } from '../lib/log.js';
import { authoritativeNode, currentAttempt, nodeShares } from './job-machine.js';
import type { Coordinator } from './coordinator.js';
import type { WorkspaceUpload } from './workspace-uploads.js';
import type { NodeEntry, NodeUsage } from './node-registry.js';
import { followLogs } from './log-follower.js';
import { meshHandlers } from './mesh/grpc-handlers.js';
import type { MeshCoordinator } from './mesh/mesh-coordinator.js';
import type { Enrollment } from './enrollment.js';
import { apiAuthInterceptor, callerOf, INSECURE_CALLER } from './api-auth.js';
import type { AuditLog } from './audit.js';
import type { Caller, UserRegistry } from './users.js';
import { createScheduleRequestSchema, listSchedulesRequestSchema, scheduleRefSchema } from '../proto/schedule.js';
import { toScheduleMsg } from './schedule-msg.js';
import type { SessionStore } from './web/sessions.js';

const ARTIFACT_CHUNK = 1024 * 1024;

export function toJobMsg(job: JobRecord): JobMsg {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    // proto3 optional: unset on the wire (null and undefined alike), so no exit code reads as absent
    exitCode: job.exitCode ?? undefined,
    reason: job.reason,
    submittedAtMs: job.submittedAt,
    startedAtMs: job.startedAt ?? 0,
    endedAtMs: job.endedAt ?? 0,
    authoritativeNode: authoritativeNode(job),
    workspace: job.workspace ?? '',
    schedule: job.schedule?.name ?? '',
    scheduleTickMs: job.schedule?.tick ?? 0,
    run: job.run ?? 1,
    runs: (job.runs ?? []).map((r) => ({ run: r.run, atMs: r.at, by: r.by, from: r.from ?? '', rerun: r.rerun, state: r.state ?? '', exitCode: r.exitCode ?? undefined, reason: r.reason, endedAtMs: r.endedAt ?? 0 })),
    handoffs: job.handoffs.map((h) => ({
      fromStage: h.from.stage,
      fromAttempt: h.from.attempt,
      fromNode: h.from.node,
      toStage: h.to.stage,
      toAttempt: h.to.attempt,
      toNode: h.to.node,
      toRunDir: h.to.runDir,
      toLog: h.to.log,
      atMs: h.at,
      acked: h.acked,
    })),
    stages: job.stages.map((s, i) => {
      // a fan-out has no one node: its nodes are in `nodes`; its exit code is its first failed node's
      const fanout = s.targets !== undefined;
      const cur = fanout ? undefined : currentAttempt(s);
      const spec = job.spec.stages[i];
      return {
        name: s.name,
        state: s.state,
        node: cur?.node ?? '',
        attempt: cur?.attempt ?? 0,
        exitCode: fanout ? (s.state === 'failed' ? (s.attempts.find((a) => a.state === 'failed' && a.exitCode !== null)?.exitCode ?? undefined) : s.state === 'succeeded' ? 0 : undefined) : (cur?.exitCode ?? undefined),
        reason: s.reason,
        attempts: s.attempts.map((a) => ({
          attempt: a.attempt,
          node: a.node,
          state: a.state,
          exitCode: a.exitCode ?? undefined,
          reason: a.reason,
          assignedAtMs: a.assignedAt,
          startedAtMs: a.startedAt ?? 0,
          endedAtMs: a.endedAt ?? 0,
          staleResult: a.staleResult ?? '',
          failures: a.failures,
          artifacts: a.artifacts?.files ?? [],
          run: a.run ?? 1,
          tryNumber: a.try ?? 1,
        })),
        request: spec?.resources ? resourcesMsg(stageRequest(spec)) : null,
        nodes: nodeShares(job, s).map((n) => ({
          node: n.node,
          state: n.state,
          attempt: n.attempt?.attempt ?? 0,
          exitCode: n.attempt?.exitCode ?? undefined,
          startedAtMs: n.attempt?.startedAt ?? 0,
          endedAtMs: n.attempt?.endedAt ?? 0,
          reason: n.attempt?.reason ?? '',
        })),
        retryAttempts: resolveRetry(spec?.retry).attempts,
        retryAtMs: s.retryAt ?? 0,
      };
    }),
  };
}

const resourcesMsg = (r: Resources | undefined): ResourcesMsg | null => (r ? { cpuMilli: r.cpu, memoryBytes: r.memory } : null);

/** `usages`: the coordinator's usageByNode(), computed once for a whole listing (it walks every held job). */
export function toNodeMsg(e: NodeEntry, c: Coordinator, now: number, usages: ReadonlyMap<string, NodeUsage> = c.usageByNode()): NodeMsg {
  const usage = usages.get(e.record.name);
  const running = usage?.running ?? 0;
  const live = c.nodes.liveness(e, now);
  // drained only once nothing runs there: neither a current attempt nor a superseded
  // run the node still reports (being stopped)
  const state = live === 'ready' && e.record.draining ? (running === 0 && e.reported.size === 0 ? 'drained' : 'draining') : live;
  return {
    name: e.record.name,
    labels: e.record.labels,
    state,
    lastSeenMs: Math.max(0, now - e.lastSeenAt),
    slots: e.record.slots,
    running,
    standby: e.record.standby,
    draining: e.record.draining,
    capacity: resourcesMsg(e.record.capacity),
    allocatable: resourcesMsg(e.record.allocatable),
    allocated: resourcesMsg(usage?.allocated ?? NO_RESOURCES),
  };
}

/** Every node not removed, by name (ListNodes, and the web dashboard). */
export function listNodeMsgs(c: Coordinator, now = Date.now()): NodeMsg[] {
  const usages = c.usageByNode();
  return [...c.nodes.entries.values()].filter((e) => !e.record.removed).map((e) => toNodeMsg(e, c, now, usages)).sort((a, b) => a.name.localeCompare(b.name));
}

function parse<T>(schema: z.ZodType<T>, req: unknown): T {
  const r = schema.safeParse(req);
  if (!r.success) throw new MeshrunError(ErrorCode.InvalidInput, formatIssues(r.error).join('; '));
  return r.data;
}

function unary<Req, Res>(log: Logger, fn: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return unaryCall(log, (call) => fn(call.request));
}

/** A unary handler that needs the whole call (its caller, its peer), not only the request. */
function unaryCall<Req, Res>(log: Logger, fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    Promise.resolve()
      .then(() => fn(call))
      .then((res) => cb(null, res))
      .catch((err) => {
        if (!isMeshrunError(err)) log.error('request failed', { err });
        cb(toGrpcStatus(err));
      });
  };
}

function needEnrollment(e: Enrollment | undefined): Enrollment {
  if (!e) throw new MeshrunError(ErrorCode.Conflict, 'this coordinator enrolls no nodes: start it with --trust-dir (the directory meshrun init made)');
  return e;
}

async function jobOrThrow(c: Coordinator, id: string): Promise<JobRecord> {
  const job = await c.getJob(id);
  if (!job) throw new MeshrunError(ErrorCode.NotFound, `no job ${id}`);
  return job;
}

/**
 * A job's log as FollowLogs streams it (and the web dashboard): from the stored record, kept
 * current by every change announced after it. Resolves with the job as the stream ended.
 */
export async function followJobLogs(
  c: Coordinator,
  id: string,
  o: { follow: boolean; have: Record<string, number>; send: (ev: LogEventMsg) => void; signal: AbortSignal },
): Promise<JobRecord> {
  // the record as last written: every change is announced with it
  let job = await jobOrThrow(c, id);
  return followLogs({
    nc: c.connection,
    job: () => job,
    onJobChange: (fn) => {
      const l = (changed: JobRecord): void => {
        if (changed.id !== id) return;
        job = changed;
        fn();
      };
      c.changes.on('job', l);
      return () => c.changes.off('job', l);
    },
    follow: o.follow,
    have: o.have,
    send: o.send,
    signal: o.signal,
  });
}

/** The server side of TLS: files the fleet CA signed, re-read when they change (rotation without a restart). */
export interface GrpcTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface GrpcServerOptions {
  listen: string;
  log: Logger;
  /** TLS with client certificates; absent only for a coordinator started --insecure (loopback). */
  tls: GrpcTls | undefined;
  /** The users; absent with --insecure, where every caller is an admin. */
  users: UserRegistry | undefined;
  audit: AuditLog;
  mesh?: MeshCoordinator;
  enrollment?: Enrollment;
  /** The web dashboard's logins, when it runs (--web-listen). */
  web?: WebLogins;
}

/** What CreateWebLogin needs of the dashboard: where logins go, and its port for the reply. */
export interface WebLogins {
  sessions: Pick<SessionStore, 'issueLogin'>;
  port: number;
}

export function serverCredentials(tls: GrpcTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const files = new grpc.experimental.FileWatcherCertificateProvider({ certificateFile: tls.certFile, privateKeyFile: tls.keyFile, caCertificateFile: tls.caFile, refreshIntervalMs: 60_000 });
  // a client certificate is asked for and checked against the CA, but not required: Join
  // authenticates with its token; every other call is refused without a registered one
  return grpc.experimental.createCertificateProviderServerCredentials(files, files, false);
}

function caller(call: { metadata: grpc.Metadata }): Caller {
  const who = callerOf(call);
  if (!who) throw new MeshrunError(ErrorCode.Internal, 'no caller on an authenticated call');
  return who;
}

export async function startGrpcServer(c: Coordinator, o: GrpcServerOptions): Promise<{ server: grpc.Server; port: number }> {
  const { log, users, audit, mesh, enrollment } = o;
  const server = new grpc.Server({
    interceptors: [apiAuthInterceptor({ authenticate: users ? (cert) => users.authenticate(cert) : () => ({ ok: true, caller: INSECURE_CALLER }), audit, log })],
  });
  const needUsers = (): UserRegistry => {
    if (!users) throw new MeshrunError(ErrorCode.Conflict, 'this coordinator runs --insecure: it has no users (start it with --trust-dir)');
    return users;
  };
  const onJobChange = (id: string) => (fn: (job: JobRecord) => void) => {
    const l = (job: JobRecord): void => {
      if (job.id === id) fn(job);
    };
    c.changes.on('job', l);
    return () => c.changes.off('job', l);
  };
  server.addService(meshrunServiceDefinition, {
    ...meshHandlers(c, mesh, log, enrollment),
    CreateJoinToken: unary(log, (req) => {
      const r = parse(joinTokenRequestSchema, req);
      return needEnrollment(enrollment).createToken(r);
    }),
    Join: unary(log, (req) => {
      const r = parse(joinRequestSchema, req);
      return needEnrollment(enrollment).join(r.token, r.node, r.publicKey);
    }),
    WhoAmI: unaryCall(log, (call) => {
      const who = caller(call);
      return { user: who.user, role: who.role, peer: call.getPeer(), certNotAfterMs: who.certNotAfter };
    }),
    CreateWebLogin: unaryCall(log, (call) => {
      const who = caller(call);
      if (!o.web) throw new MeshrunError(ErrorCode.Conflict, 'this coordinator serves no web dashboard: start it with --web-listen HOST:PORT');
      const { token, expiresAt } = o.web.sessions.issueLogin(who.user, who.role, who.certNotAfter);
      return { token, expiresAtMs: expiresAt, webPort: o.web.port, user: who.user, role: who.role };
    }),
    AddUser: unaryCall(log, async (call) => {
      const r = parse(addUserRequestSchema, call.request);
      const { record, certPem } = await needUsers().add({ ...r, by: caller(call).user });
      const cert = record.certs[0]!;
      return { name: record.name, role: record.role, certPem, caPem: needUsers().caPem, serial: cert.serial, notAfterMs: cert.notAfter };
    }),
    RemoveUser: unaryCall(log, async (call) => {
      const r = parse(userRefSchema, call.request);
      return { name: r.name, ...(await needUsers().remove(r.name, caller(call).user)) };
    }),
    ListUsers: unary(log, () => ({
      users: needUsers()
        .list()
        .map((u) => ({ name: u.name, role: u.role, createdAtMs: u.createdAt, createdBy: u.createdBy, removedAtMs: u.removedAt ?? 0, certs: u.certs.length, notAfterMs: Math.max(0, ...u.certs.map((x) => x.notAfter)) })),
    })),
    ListAudit: unary(log, async (req) => {
      const r = parse(auditRequestSchema, req);
      return { entries: (await audit.list(r.sinceMs, r.limit)).map((e) => ({ ...e, atMs: e.at })) };
    }),
    Submit: unary(log, async (req) => {
      const r = parse(submitRequestSchema, req);
      const { job, created } = await c.submit(r.id, r.specJson, r.workspace === '' ? null : r.workspace, r.secrets);
      return { job: toJobMsg(job), created };
    }),
    GetJob: unary(log, async (req) => toJobMsg(await jobOrThrow(c, parse(jobRefSchema, req).id))),
    ListJobs: unary(log, async (req) => {
      const r = parse(listJobsRequestSchema, req);
      const { jobs, more } = await c.listJobs(r.limit, r.withActive);
      return { jobs: jobs.map(toJobMsg), more };
    }),
    CancelJob: unary(log, async (req) => toJobMsg(await c.cancel(parse(jobRefSchema, req).id))),
    RetryJob: unaryCall(log, async (call) => {
      const r = parse(retryJobRequestSchema, call.request);
      return toJobMsg(await c.retry(r.id, r.from === '' ? null : r.from, r.secrets, caller(call).user));
    }),
    ListNodes: unary(log, () => ({ nodes: listNodeMsgs(c) })),
    CreateSchedule: unaryCall(log, async (call) => toScheduleMsg(await c.schedules.create(parse(createScheduleRequestSchema, call.request), caller(call).user), false)),
    ListSchedules: unary(log, async (req) => {
      parse(listSchedulesRequestSchema, req);
      return { schedules: (await c.schedules.list()).map((v) => toScheduleMsg(v, false)) };
    }),
    GetSchedule: unary(log, async (req) => toScheduleMsg(await c.schedules.get(parse(scheduleRefSchema, req).name), true)),
    PauseSchedule: unaryCall(log, async (call) => toScheduleMsg(await c.schedules.setPaused(parse(scheduleRefSchema, call.request).name, true, caller(call).user), false)),
    ResumeSchedule: unaryCall(log, async (call) => toScheduleMsg(await c.schedules.setPaused(parse(scheduleRefSchema, call.request).name, false, caller(call).user), false)),
    DeleteSchedule: unaryCall(log, async (call) => toScheduleMsg(await c.schedules.remove(parse(scheduleRefSchema, call.request).name, caller(call).user), false)),
    RunSchedule: unaryCall(log, async (call) => {
      const r = await c.schedules.runNow(parse(scheduleRefSchema, call.request).name, caller(call).user);
      return { schedule: toScheduleMsg(r.view, false), job: toJobMsg(r.job), created: r.created };
    }),
    DrainNode: unary(log, async (req) => toNodeMsg(await c.setDraining(parse(nodeRefSchema, req).name, true), c, Date.now())),
    UndrainNode: unary(log, async (req) => toNodeMsg(await c.setDraining(parse(nodeRefSchema, req).name, false), c, Date.now())),
    FollowLogs: (call: grpc.ServerWritableStream<unknown, LogEventMsg>) => {
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      call.on('close', () => ac.abort());
      void (async () => {
        try {
          const r = parse(logsRequestSchema, call.request);
          const final = await followJobLogs(c, r.id, { follow: r.follow, have: r.have, send: (ev) => call.write(ev), signal: ac.signal });
          if (!ac.signal.aborted) call.write({ event: 'end', end: toJobMsg(final) });
          call.end();
        } catch (err) {
          if (!isMeshrunError(err)) log.error('log follow failed', { err });
          call.emit('error', toGrpcStatus(err));
        }
      })();
    },
    PutBlob: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      // chunks go into the object store as they come, one at a time: the call is paused while
      // one is being stored, so a fast client waits instead of filling the coordinator's memory
      let upload: WorkspaceUpload | undefined;
      let done = false;
      let writing: Promise<void> = Promise.resolve();
      const answer = (err: unknown, ref?: unknown): void => {
        if (done) return;
        done = true;
        if (err) {
          upload?.abort((err as Error).message ?? String(err));
          if (!isMeshrunError(err)) log.error('workspace upload failed', { err });
          cb(toGrpcStatus(err));
        } else cb(null, ref);
      };
      call.on('data', (chunk: unknown) => {
        if (done) return;
        const r = blobChunkSchema.safeParse(chunk);
        if (!r.success) return answer(new MeshrunError(ErrorCode.InvalidInput, `invalid workspace chunk: ${formatIssues(r.error).join('; ')}`));
        try {
          upload ??= c.beginWorkspaceUpload(caller(call).user, r.data.sha256);
        } catch (err) {
          return answer(err);
        }
        const u = upload;
        call.pause();
        writing = writing.then(() => u.write(r.data.data)).then(
          () => {
            if (!done) call.resume();
          },
          (err) => answer(err),
        );
      });
      call.on('end', () => {
        void writing.then(() => {
          if (done) return;
          if (!upload) return answer(new MeshrunError(ErrorCode.InvalidInput, 'an empty workspace upload: no chunk was sent'));
          upload.finish().then(
            (ref) => answer(null, ref),
            (err) => answer(err),
          );
        });
      });
      // the client went away midway: what was stored goes
      call.on('cancelled', () => answer(new MeshrunError(ErrorCode.Unreachable, 'the client cancelled the upload')));
      call.on('error', (err) => answer(err));
    },
    GetArtifacts: (call: grpc.ServerWritableStream<unknown, ArtifactChunkMsg>) => {
      void (async () => {
        try {
          const job = await jobOrThrow(c, parse(jobRefSchema, call.request).id);
          for (const s of job.stages) {
            // a stage on all nodes (by its spec: a new run fixes its targets afresh) sends its latest run's nodes only
            const fanout = job.spec.stages.find((x) => x.name === s.name)?.on.all === true;
            const lastRun = Math.max(0, ...s.attempts.map((a) => a.run ?? 1));
            for (const a of s.attempts) {
              if (!a.artifacts || a.state === 'stale') continue;
              if (fanout && (a.run ?? 1) !== lastRun) continue;
              const data = await c.getBlob(a.artifacts.object);
              if (!data) throw new MeshrunError(ErrorCode.NotFound, `artifacts of ${s.name} attempt ${a.attempt} are not in the object store`);
              const sha256 = createHash('sha256').update(data).digest('hex');
              if (sha256 !== a.artifacts.sha256) {
                throw new MeshrunError(ErrorCode.Internal, `artifacts of ${s.name} attempt ${a.attempt} are damaged in the object store: content hash ${sha256.slice(0, 12)}, recorded ${a.artifacts.sha256.slice(0, 12)}`);
              }
              for (let off = 0; off < data.length || off === 0; off += ARTIFACT_CHUNK) {
                const last = off + ARTIFACT_CHUNK >= data.length;
                call.write({ stage: s.name, attempt: a.attempt, node: fanout ? a.node : '', files: off === 0 ? a.artifacts.files : [], data: data.subarray(off, off + ARTIFACT_CHUNK), last, sha256: off === 0 ? sha256 : '' });
                if (last) break;
              }
            }
          }
          call.end();
        } catch (err) {
          if (!isMeshrunError(err)) log.error('artifacts download failed', { err });
          call.emit('error', toGrpcStatus(err));
        }
      })();
    },
    WatchJob: (call: grpc.ServerWritableStream<unknown, JobMsg>) => {
      void (async () => {
        try {
          const id = parse(jobRefSchema, call.request).id;
          // listening before the record is read (a finished one from KV): no change falls in between
          let ready = false;
          let changed: JobRecord | undefined;
          let done = false;
          const sendEnds = (job: JobRecord): void => {
            if (done) return;
            call.write(toJobMsg(job));
            if (!isTerminalJob(job.state)) return;
            done = true;
            stop();
            call.end();
          };
          const stop = onJobChange(id)((job) => (ready ? sendEnds(job) : (changed = job)));
          call.on('cancelled', stop);
          call.on('close', stop);
          try {
            const job = await jobOrThrow(c, id);
            ready = true;
            sendEnds(changed ?? job);
          } catch (err) {
            stop();
            throw err;
          }
        } catch (err) {
          call.emit('error', toGrpcStatus(err));
        }
      })();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(o.listen, serverCredentials(o.tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}
