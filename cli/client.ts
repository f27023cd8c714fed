// The CLI's full gRPC client: grpc-js, for the streaming calls (logs, watch, blobs, artifacts)
// and whatever command also needs one of them; the unary calls, address rotation and status
// mapping are RpcClient's. The read commands use RpcClient over h2-channel.ts instead.
import * as grpc from '@grpc/grpc-js';
import type { ClientTarget } from './client-target.js';
import type { ArtifactChunkMsg, JobMsg, LogEventMsg } from '../proto/grpc.js';
import { LEADER_METADATA, MeshrunService } from '../proto/grpc-service.js';
import { RpcClient, type RpcError, type UnaryChannel } from './rpc-client.js';

export { coordinatorAddress, DEFAULT_COORDINATOR } from './rpc-client.js';

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

type UnaryWithOptions = (req: object, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** The leader a standby's answer names (its trailing metadata), if any. */
function leaderOf(err: grpc.ServiceError): string | undefined {
  const named = err.metadata?.get(LEADER_METADATA)[0];
  return typeof named === 'string' ? named : undefined;
}

/** A standby coordinator's answer: unavailable here, with the leader's address attached. */
export function isStandbyAnswer(err: grpc.ServiceError): boolean {
  return err.code === grpc.status.UNAVAILABLE && leaderOf(err) !== undefined;
}

/** A grpc-js error as the client reads it, with the leader it names. */
export function rpcErrorOf(err: grpc.ServiceError): RpcError {
  return Object.assign(err, { leader: leaderOf(err) });
}

/** One grpc-js channel to one coordinator address. */
class GrpcChannel implements UnaryChannel {
  readonly raw: grpc.Client & Record<string, unknown>;

  constructor(address: string, target: ClientTarget) {
    this.raw = new MeshrunService(address, channelCredentials(target), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      // a stream (logs -f, watch) to a coordinator that froze (its port still accepts, nothing
      // answers) fails after 10 + 5 s without a ping answered, and moves to the next address
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    }) as unknown as grpc.Client & Record<string, unknown>;
  }

  waitForReady(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => this.raw.waitForReady(deadline, (err) => (err ? reject(err) : resolve())));
  }

  unary<Res>(method: string, req: object, deadline: number | undefined): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = (this.raw[method] as UnaryWithOptions).bind(this.raw);
      fn(req, deadline === undefined ? {} : { deadline }, (err, res) => (err ? reject(rpcErrorOf(err)) : resolve(res as Res)));
    });
  }

  close(): void {
    this.raw.close();
  }
}

export class MeshrunClient extends RpcClient<GrpcChannel> {
  /** A plain address is plain gRPC (a coordinator started --insecure). */
  constructor(target: string | ClientTarget) {
    super(target, (address, t) => new GrpcChannel(address, t));
  }

  private get raw(): grpc.Client & Record<string, unknown> {
    return this.channel.raw;
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
