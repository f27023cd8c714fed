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
  blobChunkSchema,
  addUserRequestSchema,
  auditRequestSchema,
  userRefSchema,
  type ArtifactChunkMsg,
  type JobMsg,
  type LogEventMsg,
  type NodeMsg,
} from '../proto/grpc.js';
import { isTerminalJob, type JobRecord } from '../proto/records.js';
import { formatIssues } from '../proto/validation.js';
import { ErrorCode, isMeshrunError, MeshrunError } from '../lib/errors.js';
import { toGrpcStatus } from '../lib/grpc-status.js';
import type { Logger } from '../lib/log.js';
import { authoritativeNode, currentAttempt } from './job-machine.js';
import type { Coordinator } from './coordinator.js';
import type { WorkspaceUpload } from './workspace-uploads.js';
import type { NodeEntry } from './node-registry.js';
import { followLogs } from './log-follower.js';
import { meshHandlers } from './mesh/grpc-handlers.js';
import type { MeshCoordinator } from './mesh/mesh-coordinator.js';
import type { Enrollment } from './enrollment.js';
import { apiAuthInterceptor, callerOf, INSECURE_CALLER } from './api-auth.js';
import type { AuditLog } from './audit.js';
import type { Caller, UserRegistry } from './users.js';

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
    stages: job.stages.map((s) => {
      const cur = currentAttempt(s);
      return {
        name: s.name,
        state: s.state,
        node: cur?.node ?? '',
        attempt: cur?.attempt ?? 0,
        exitCode: cur?.exitCode ?? undefined,
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
        })),
      };
    }),
  };
}

export function toNodeMsg(e: NodeEntry, c: Coordinator, now: number): NodeMsg {
  const running = c.runningByNode().get(e.record.name) ?? 0;
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
  };
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
}

function serverCredentials(tls: GrpcTls | undefined): grpc.ServerCredentials {
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
    ListNodes: unary(log, () => {
      const now = Date.now();
      return { nodes: [...c.nodes.entries.values()].filter((e) => !e.record.removed).map((e) => toNodeMsg(e, c, now)).sort((a, b) => a.name.localeCompare(b.name)) };
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
          // the record as last written: every change is announced with it
          let job = await jobOrThrow(c, r.id);
          const final = await followLogs({
            nc: c.connection,
            job: () => job,
            onJobChange: (fn) =>
              onJobChange(r.id)((changed) => {
                job = changed;
                fn();
              }),
            follow: r.follow,
            have: r.have,
            send: (ev) => call.write(ev),
            signal: ac.signal,
          });
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
            for (const a of s.attempts) {
              if (!a.artifacts || a.state === 'stale') continue;
              const data = await c.getBlob(a.artifacts.object);
              if (!data) throw new MeshrunError(ErrorCode.NotFound, `artifacts of ${s.name} attempt ${a.attempt} are not in the object store`);
              const sha256 = createHash('sha256').update(data).digest('hex');
              if (sha256 !== a.artifacts.sha256) {
                throw new MeshrunError(ErrorCode.Internal, `artifacts of ${s.name} attempt ${a.attempt} are damaged in the object store: content hash ${sha256.slice(0, 12)}, recorded ${a.artifacts.sha256.slice(0, 12)}`);
              }
              for (let off = 0; off < data.length || off === 0; off += ARTIFACT_CHUNK) {
                const last = off + ARTIFACT_CHUNK >= data.length;
                call.write({ stage: s.name, attempt: a.attempt, files: off === 0 ? a.artifacts.files : [], data: data.subarray(off, off + ARTIFACT_CHUNK), last, sha256: off === 0 ? sha256 : '' });
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
