// The CLI's gRPC client: one address (--coordinator or MESHRUN_COORDINATOR), a short
// wait for the channel, and gRPC statuses mapped to exit codes with one clear line.
import * as grpc from '@grpc/grpc-js';
import { MeshrunService, type ArtifactChunkMsg, type JobMsg, type JoinMsg, type JoinTokenMsg, type LogEventMsg, type NodeMsg } from '../proto/grpc.js';
import type { MeshJoinMsg, MeshLeaveMsg, MeshRotateMsg, MeshStatusMsg, NodeRemoveMsg } from '../proto/mesh.js';
import { DEFAULT_COORDINATOR_ADDRESS } from '../proto/config.js';
import { ErrorCode } from '../lib/errors.js';
import { errorCodeOfStatus } from '../lib/grpc-status.js';
import { ExitCode, ExitError } from './exit.js';

export const DEFAULT_COORDINATOR = DEFAULT_COORDINATOR_ADDRESS;

export function coordinatorAddress(flag?: string): string {
  return flag ?? process.env.MESHRUN_COORDINATOR ?? DEFAULT_COORDINATOR;
}

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

export class MeshrunClient {
  private readonly raw: grpc.Client & Record<string, unknown>;

  constructor(readonly address: string) {
    this.raw = new MeshrunService(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }) as unknown as grpc.Client & Record<string, unknown>;
  }

  close(): void {
    this.raw.close();
  }

  /** Fails fast with exit code 3 when nothing answers at the address. */
  async ready(timeoutMs = 3000): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.raw.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(this.unreachable(err)) : resolve())),
    );
  }

  unreachable(err?: Error): ExitError {
    return new ExitError(ExitCode.Unreachable, `cannot reach the coordinator at ${this.address}${err ? `: ${err.message}` : ''} (set --coordinator or MESHRUN_COORDINATOR)`);
  }

  private call<Req, Res>(method: string, req: Req): Promise<Res> {
    const fn = (this.raw[method] as Unary<Req, Res>).bind(this.raw);
    return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(this.mapError(err)) : resolve(res))));
  }

  mapError(err: grpc.ServiceError): ExitError {
    switch (errorCodeOfStatus(err.code)) {
      case ErrorCode.Unreachable:
        return this.unreachable(new Error(err.details || err.message));
      case ErrorCode.InvalidInput:
        return new ExitError(ExitCode.Usage, err.details);
      case ErrorCode.NotFound:
        return new ExitError(ExitCode.NotFound, err.details);
      default:
        return new ExitError(ExitCode.Error, `coordinator error: ${err.details || err.message}`);
    }
  }

  submit(id: string, specJson: string, workspace = ''): Promise<{ job: JobMsg; created: boolean }> {
    return this.call('Submit', { id, specJson, workspace });
  }
  getJob(id: string): Promise<JobMsg> {
    return this.call('GetJob', { id });
  }
  async listJobs(limit = 0): Promise<JobMsg[]> {
    return (await this.call<object, { jobs: JobMsg[] }>('ListJobs', { limit })).jobs;
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
