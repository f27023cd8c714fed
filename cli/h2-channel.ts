// A gRPC channel for unary calls over Node's own HTTP/2: what the CLI's read and admin commands
// use, so that they start without grpc-js (its import alone costs more than the CLI's budget).
// A unary call is one POST: a length-prefixed message each way and the status in the trailers.
// Messages are coded from the descriptor of meshrun.proto by proto/wire-codec.ts, as protobufjs
// codes them with proto-loader's options, so a reply is the very object grpc-js would hand over
// (test/cli-h2-channel.test.ts); protobufjs itself is not loaded (~20 ms of a CLI start).
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { isIP } from 'node:net';
import { meshrunDescriptor } from '../proto/generated/descriptor.js';
import { WireCodec, type MessageType } from '../proto/wire-codec.js';
import { GrpcStatus } from '../lib/grpc-status.js';
import { LEADER_METADATA } from '../proto/grpc-metadata.js';
import type { ClientTarget } from './client-target.js';
import type { RpcError, UnaryChannel } from './rpc-client.js';

const SERVICE = 'meshrun.v1.Meshrun';
/** As grpc-js is told in client.ts: a reply over this is refused. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Between tries to connect while waiting for a coordinator that is not listening yet. */
const RETRY_MS = { first: 100, max: 1000 };

let codec: WireCodec | undefined;
function method(name: string): { codec: WireCodec; request: MessageType; response: MessageType } {
  codec ??= new WireCodec(meshrunDescriptor);
  const m = codec.method(SERVICE, name);
  if (!m) throw rpcError(GrpcStatus.UNIMPLEMENTED, `no method ${name} in ${SERVICE}`);
  return { codec, ...m };
}

function rpcError(code: number, details: string): RpcError {
  return Object.assign(new Error(`${code} ${statusName(code)}: ${details}`), { code, details });
}

function statusName(code: number): string {
  return Object.entries(GrpcStatus).find(([, c]) => c === code)?.[0] ?? 'UNKNOWN';
}

/** `host:port` or `[v6]:port` as an https:// (TLS) or http:// (plain, h2c) authority. */
function authority(address: string, tls: boolean): { url: string; host: string } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(address);
  if (!m) throw rpcError(GrpcStatus.UNAVAILABLE, `${address}: expected host:port`);
  const host = m[1] ?? m[2]!;
  return { url: `${tls ? 'https' : 'http'}://${m[1] ? `[${host}]` : host}:${m[3]}`, host };
}

/** The gRPC status of an HTTP response that carries none (a proxy, not a gRPC server), as gRPC maps it. */
function statusOfHttp(status: number): number {
  if (status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 404) return GrpcStatus.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GrpcStatus.UNAVAILABLE;
  return GrpcStatus.UNKNOWN;
}

export class H2Channel implements UnaryChannel {
  private session: ClientHttp2Session | undefined;
  private connecting: Promise<ClientHttp2Session> | undefined;
  private inFlight = 0;

  constructor(
    private readonly address: string,
    private readonly target: ClientTarget,
  ) {}

  async waitForReady(deadline: number): Promise<void> {
    for (let wait = RETRY_MS.first; ; wait = Math.min(wait * 2, RETRY_MS.max)) {
      try {
        await this.connected(deadline);
        return;
      } catch (err) {
        const left = deadline - Date.now();
        if (left <= wait) throw new Error(`failed to connect before the deadline (${(err as Error).message})`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async unary<Res>(name: string, req: object, deadline: number | undefined): Promise<Res> {
    const m = method(name);
    const body = m.codec.encode(m.request, req);
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    let session: ClientHttp2Session;
    try {
      session = await this.connected(deadline);
    } catch (err) {
      throw rpcError(GrpcStatus.UNAVAILABLE, (err as Error).message);
    }
    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': `/${SERVICE}/${name}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    };
    if (deadline !== undefined) headers['grpc-timeout'] = `${Math.max(1, deadline - Date.now())}m`;
    this.hold(session, +1);
    try {
      const reply = await this.exchange(session.request(headers), frame, deadline);
      try {
        return m.codec.decode(m.response, reply) as Res;
      } catch (err) {
        throw rpcError(GrpcStatus.INTERNAL, `a reply that is not a ${m.response.fullName.slice(1)}: ${(err as Error).message}`);
      }
    } finally {
      this.hold(session, -1);
    }
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
    this.connecting = undefined;
  }

  /** A connection is kept open between calls, but holds the process only while a call is in flight. */
  private hold(session: ClientHttp2Session, d: 1 | -1): void {
    this.inFlight += d;
    if (session.destroyed) return;
    if (this.inFlight > 0) session.ref();
    else session.unref();
  }

  /** Sends one request message; resolves with the reply message, rejects with an RpcError. */
  private exchange(stream: ClientHttp2Stream, frame: Buffer, deadline: number | undefined): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let httpStatus = 0;
      let settled = false;
      const finish = (err: RpcError | undefined, reply?: Buffer): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (err) {
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
          reject(err);
        } else resolve(reply!);
      };
      const timer = deadline === undefined ? undefined : setTimeout(() => finish(rpcError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')), Math.max(0, deadline - Date.now()));
      const onStatus = (h: IncomingHttpHeaders): boolean => {
        const raw = h['grpc-status'];
        if (raw === undefined) return false;
        const code = Number(raw);
        if (code !== GrpcStatus.OK) {
          let details = String(h['grpc-message'] ?? '');
          try {
            details = decodeURIComponent(details);
          } catch {
            // not percent-encoded after all: as sent
          }
          // a standby names the leader in its trailing metadata: the client goes there next
          const leader = h[LEADER_METADATA];
          finish(Object.assign(rpcError(code, details), typeof leader === 'string' ? { leader } : {}));
          return true;
        }
        finish(...this.message(Buffer.concat(chunks, size)));
        return true;
      };
      stream.on('response', (h) => {
        httpStatus = Number(h[':status']);
        // trailers-only: the status comes with the headers (every error the server sends at once)
        if (onStatus(h)) return;
        if (httpStatus !== 200) finish(rpcError(statusOfHttp(httpStatus), `HTTP status ${httpStatus}`));
      });
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_MESSAGE_BYTES + 5) finish(rpcError(GrpcStatus.RESOURCE_EXHAUSTED, `a reply of over ${MAX_MESSAGE_BYTES} bytes`));
        else chunks.push(c);
      });
      stream.on('trailers', (h) => onStatus(h));
      stream.on('error', (err) => finish(rpcError(GrpcStatus.UNAVAILABLE, err.message)));
      stream.on('close', () => finish(rpcError(httpStatus === 0 ? GrpcStatus.UNAVAILABLE : GrpcStatus.UNKNOWN, httpStatus === 0 ? 'connection closed before a reply' : 'the reply ended without a status')));
      stream.end(frame);
    });
  }

  /** The one message of a reply: [compressed flag, 4-byte length, message]. */
  private message(data: Buffer): [RpcError | undefined, Buffer?] {
    if (data.length < 5) return [rpcError(GrpcStatus.INTERNAL, 'the reply holds no message')];
    if (data[0] !== 0) return [rpcError(GrpcStatus.INTERNAL, 'a compressed reply (none was asked for)')];
    const len = data.readUInt32BE(1);
    if (data.length !== 5 + len) return [rpcError(GrpcStatus.INTERNAL, `a reply of ${data.length - 5} bytes where its frame says ${len}`)];
    return [undefined, data.subarray(5)];
  }

  /** The open connection, or a new one; rejects on failure or once `deadline` passes. */
  private connected(deadline: number | undefined): Promise<ClientHttp2Session> {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return Promise.resolve(s);
    this.connecting ??= this.open(deadline).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private open(deadline: number | undefined): Promise<ClientHttp2Session> {
    const tls = this.target.tls;
    const { url, host } = authority(this.address, tls !== undefined);
    return new Promise((resolve, reject) => {
      // the certificate is checked against the host dialled; a server name only for a DNS name (SNI
      // with an IP address is not allowed, and Node warns about it)
      const session = connect(url, tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, ...(isIP(host) ? {} : { servername: host }) } : {});
      const timer = deadline === undefined ? undefined : setTimeout(() => fail(new Error('connect timed out')), Math.max(0, deadline - Date.now()));
      const fail = (err: Error): void => {
        if (timer) clearTimeout(timer);
        session.destroy();
        reject(err);
      };
      session.once('error', fail);
      session.once('close', () => fail(new Error('connection closed')));
      session.once('connect', () => {
        if (timer) clearTimeout(timer);
        session.removeListener('error', fail);
        // an error later (the coordinator went away) fails the calls on this session, not the process
        session.on('error', () => undefined);
        session.on('close', () => {
          if (this.session === session) this.session = undefined;
        });
        if (this.inFlight === 0) session.unref();
        this.session = session;
        resolve(session);
      });
    });
  }
}
