// The CLI's gRPC client: one address (--coordinator or MESHRUN_COORDINATOR), a short
// wait for the channel, and gRPC statuses mapped to exit codes with one clear line.
import * as grpc from '@grpc/grpc-js';
import type { ClientTarget } from './client-target.js';
import type { AddUserMsg, AuditEntryMsg, IdentityMsg, RemoveUserMsg, UserMsg, ArtifactChunkMsg, JobMsg, JoinMsg, JoinTokenMsg, LogEventMsg, NodeMsg } from '../proto/grpc.js';
import { MeshrunService } from '../proto/grpc-service.js';
import type { MeshJoinMsg, MeshLeaveMsg, MeshRotateMsg, MeshStatusMsg, NodeRemoveMsg } from '../proto/mesh.js';
import { DEFAULT_COORDINATOR_ADDRESS } from '../proto/defaults.js';
import { ErrorCode } from '../lib/errors.js';
import { errorCodeOfStatus } from '../lib/grpc-status.js';
import { ExitCode, ExitError } from './exit.js';

export const DEFAULT_COORDINATOR = DEFAULT_COORDINATOR_ADDRESS;

export function coordinatorAddress(flag?: string): string {
  return flag ?? process.env.MESHRUN_COORDINATOR ?? DEFAULT_COORDINATOR;
}

// grpc-js sets the TLS server name to the host it dials, and Node warns (DEP0123) when that is an
// IP address; the certificate is still checked against the IP. Dialling a coordinator by its
// address is normal here, so that one warning is dropped; every other warning is kept.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string } | null)?.code : rest[1];
  if (code === 'DEP0123') return;
  (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

function channelCredentials(t: ClientTarget): grpc.ChannelCredentials {
  if (!t.tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(t.tls.ca, t.tls.key ?? null, t.tls.cert ?? null);
}

type UnaryWithOptions<Req, Res> = (req: Req, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;
/** With several coordinator addresses: how long one try of a call may take before the next address is tried. */
const CALL_DEADLINE_MS = 10_000;

export class MeshrunClient {
  private raw: grpc.Client & Record<string, unknown>;
  /** The coordinator now talked to: one of `addresses`. */
  address: string;
  /** Every coordinator address given (`a:7433,b:7433`): only the leader listens, so the one that answers leads. */
  readonly addresses: string[];
  private current = 0;
  private readonly target: ClientTarget;

  /** A plain address is plain gRPC (a coordinator started --insecure). */
  constructor(target: string | ClientTarget) {
    this.target = typeof target === 'string' ? { address: target, source: 'plain gRPC' } : target;
    this.addresses = this.target.address.split(',').map((a) => a.trim()).filter((a) => a !== '');
    if (this.addresses.length === 0) this.addresses.push(this.target.address);
    this.address = this.addresses[0]!;
    this.raw = this.channel(this.address);
  }

  private channel(address: string): grpc.Client & Record<string, unknown> {
    return new MeshrunService(address, channelCredentials(this.target), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      // a stream (logs -f, watch) to a coordinator that froze (its port still accepts, nothing
      // answers) fails after 10 + 5 s without a ping answered, and moves to the next address
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    }) as unknown as grpc.Client & Record<string, unknown>;
  }

  close(): void {
    this.raw.close();
  }

  /**
   * Moves on to the next coordinator address, after the current one stopped answering (a
   * standby does not listen; a leader that died or stepped down stops). False with one address.
   */
  rotate(): boolean {
    if (this.addresses.length < 2) return false;
    this.raw.close();
    this.current = (this.current + 1) % this.addresses.length;
    this.address = this.addresses[this.current]!;
    this.raw = this.channel(this.address);
    return true;
  }

  /** Fails fast with exit code 3 when nothing answers at any of the addresses. */
  async ready(timeoutMs = 3000): Promise<void> {
    const each = this.addresses.length > 1 ? Math.max(1000, timeoutMs / this.addresses.length) : timeoutMs;
    for (let i = 0; ; i++) {
      try {
        await new Promise<void>((resolve, reject) => this.raw.waitForReady(Date.now() + each, (err) => (err ? reject(err) : resolve())));
        return;
      } catch (err) {
        if (i + 1 >= this.addresses.length || !this.rotate()) throw this.unreachable(err as Error);
      }
    }
  }

  unreachable(err?: Error): ExitError {
    const where = this.addresses.length > 1 ? `any of ${this.addresses.join(', ')}` : this.address;
    return new ExitError(ExitCode.Unreachable, `cannot reach the coordinator at ${where}${err ? `: ${err.message}` : ''} (address: --coordinator or MESHRUN_COORDINATOR; credential: ${this.target.source})`);
  }

  /**
   * One call; when the coordinator is unreachable, the same call at each other address once
   * (every call is safe to repeat: submit ids are chosen by the client). With several
   * addresses each try has a deadline, so a leader that froze (its port still accepts, nothing
   * answers) does not hold the call forever: the next address may lead by now.
   */
  private async call<Req, Res>(method: string, req: Req): Promise<Res> {
    const several = this.addresses.length > 1;
    for (let tries = 1; ; tries++) {
      try {
        return await new Promise<Res>((resolve, reject) => {
          const fn = (this.raw[method] as UnaryWithOptions<Req, Res>).bind(this.raw);
          fn(req, several ? { deadline: Date.now() + CALL_DEADLINE_MS } : {}, (err, res) => (err ? reject(err) : resolve(res)));
        });
      } catch (err) {
        const e = err as grpc.ServiceError;
        const gone = e.code === grpc.status.UNAVAILABLE || (several && e.code === grpc.status.DEADLINE_EXCEEDED);
        if (gone && tries < this.addresses.length && this.rotate()) continue;
        throw this.mapError(e);
      }
    }
  }

  mapError(err: grpc.ServiceError): ExitError {
    switch (errorCodeOfStatus(err.code)) {
      case ErrorCode.Unreachable:
        return this.unreachable(new Error(err.details || err.message));
      case ErrorCode.InvalidInput:
        return new ExitError(ExitCode.Usage, err.details);
      case ErrorCode.NotFound:
        return new ExitError(ExitCode.NotFound, err.details);
      case ErrorCode.Unauthenticated:
        return new ExitError(ExitCode.Denied, `not authenticated: ${err.details} (credential: ${this.target.source})`);
      case ErrorCode.Denied:
        return new ExitError(ExitCode.Denied, `permission denied: ${err.details}`);
      default:
        return new ExitError(ExitCode.Error, `coordinator error: ${err.details || err.message}`);
    }
  }

  submit(id: string, specJson: string, workspace = '', secrets: Record<string, string> = {}): Promise<{ job: JobMsg; created: boolean }> {
    return this.call('Submit', { id, specJson, workspace, secrets });
  }
  getJob(id: string): Promise<JobMsg> {
    return this.call('GetJob', { id });
  }
  /** The newest `limit` jobs (0: as many as one answer holds, 10,000), oldest first. */
  async listJobs(limit = 0): Promise<JobMsg[]> {
    return (await this.listJobPage(limit)).jobs;
  }
  /** As listJobs, and whether older jobs exist; `withActive`: every job not ended too, however old. */
  async listJobPage(limit: number, withActive = false): Promise<{ jobs: JobMsg[]; more: boolean }> {
    const r = await this.call<object, { jobs: JobMsg[]; more?: boolean }>('ListJobs', { limit, withActive });
    return { jobs: r.jobs, more: r.more ?? false };
  }
  cancelJob(id: string): Promise<JobMsg> {
    return this.call('CancelJob', { id });
  }
  async listNodes(): Promise<NodeMsg[]> {
    return (await this.call<object, { nodes: NodeMsg[] }>('ListNodes', {})).nodes;
  }
  drainNode(name: string): Promise<NodeMsg> {
    return this.call('DrainNode', { name });
  }
  undrainNode(name: string): Promise<NodeMsg> {
    return this.call('UndrainNode', { name });
  }
  removeNode(name: string): Promise<NodeRemoveMsg> {
    return this.call('RemoveNode', { name });
  }
  meshStatus(): Promise<MeshStatusMsg> {
    return this.call('MeshStatus', {});
  }
  meshRotateKey(name: string): Promise<MeshRotateMsg> {
    return this.call('MeshRotateKey', { name });
  }
  meshJoin(client: string, publicKey: string, endpoint = ''): Promise<MeshJoinMsg> {
    return this.call('MeshJoin', { client, publicKey, endpoint });
  }
  meshLeave(client: string): Promise<MeshLeaveMsg> {
    return this.call('MeshLeave', { client });
  }
  createJoinToken(labels: Record<string, string>, ttlMs: number, uses: number): Promise<JoinTokenMsg> {
    return this.call('CreateJoinToken', { labels, ttlMs, uses });
  }
  join(token: string, node: string, publicKey: string): Promise<JoinMsg> {
    return this.call('Join', { token, node, publicKey });
  }
  whoAmI(): Promise<IdentityMsg> {
    return this.call('WhoAmI', {});
  }
  addUser(name: string, role: string, publicKeyPem: string, validMs: number): Promise<AddUserMsg> {
    return this.call('AddUser', { name, role, publicKeyPem, validMs });
  }
  removeUser(name: string): Promise<RemoveUserMsg> {
    return this.call('RemoveUser', { name });
  }
  async listUsers(): Promise<UserMsg[]> {
    return (await this.call<object, { users: UserMsg[] }>('ListUsers', {})).users;
  }
  async listAudit(sinceMs: number, limit: number): Promise<AuditEntryMsg[]> {
    return (await this.call<object, { entries: AuditEntryMsg[] }>('ListAudit', { sinceMs, limit })).entries;
  }

  followLogs(id: string, follow: boolean, have: Record<string, number>): grpc.ClientReadableStream<LogEventMsg> {
    const fn = this.raw.FollowLogs as (req: object) => grpc.ClientReadableStream<LogEventMsg>;
    return fn.call(this.raw, { id, follow, have });
  }

  /** Streams a blob to the coordinator in 1 MiB chunks. */
  putBlob(data: Buffer, sha256: string): Promise<{ sha256: string; size: number; existed: boolean }> {
    return new Promise((resolve, reject) => {
      const fn = this.raw.PutBlob as (cb: (err: grpc.ServiceError | null, res: { sha256: string; size: number; existed: boolean }) => void) => grpc.ClientWritableStream<object>;
      const call = fn.call(this.raw, (err, res) => (err ? reject(this.mapError(err)) : resolve(res)));
      const CHUNK = 1024 * 1024;
      for (let off = 0; off < data.length || off === 0; off += CHUNK) {
        call.write({ sha256: off === 0 ? sha256 : '', data: data.subarray(off, off + CHUNK) });
        if (off + CHUNK >= data.length) break;
      }
      call.end();
    });
  }

  getArtifacts(id: string): grpc.ClientReadableStream<ArtifactChunkMsg> {
    const fn = this.raw.GetArtifacts as (req: object) => grpc.ClientReadableStream<ArtifactChunkMsg>;
    return fn.call(this.raw, { id });
  }

  watchJob(id: string): grpc.ClientReadableStream<JobMsg> {
    const fn = this.raw.WatchJob as (req: object) => grpc.ClientReadableStream<JobMsg>;
    return fn.call(this.raw, { id });
  }
}
