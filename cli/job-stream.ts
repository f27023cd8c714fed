// One job's log stream from the coordinator (gRPC FollowLogs), reopened after a drop
// with the per-attempt byte offsets already held (`have`), so nothing is missed or repeated.
import * as grpc from '@grpc/grpc-js';
import type { JobMsg, LogEventMsg } from '../proto/grpc.js';
import { isTerminalJob, type JobState } from '../proto/records.js';
import { Backoff } from '../lib/backoff.js';
import { isStandbyAnswer, rpcErrorOf, type MeshrunClient } from './client.js';
import type { ExitError } from './exit.js';

/** Reconnect delays: from 100ms, doubling up to 2s, back to the start once events flow again. */
const RETRY = { initialMs: 100, maxMs: 2000 } as const;
/** `have` offset that tells the coordinator "send no log bytes of this attempt". */
const SKIP_BYTES = 2 ** 50;

export interface JobStreamOptions {
  /** Keep following (across reconnects) until the job has ended; false: what is there now, once. */
  follow: boolean;
  /**
   * false: ask for no log bytes, only headers, playbook events and the end. Every attempt in
   * `knownAttempts()` (`stage/attempt`) and every new one is skipped; a new one reopens the stream.
   * @default true
   */
  logBytes?: boolean;
  knownAttempts?: () => string[];
  /** Whether a failed connection is worth another try (follow only); otherwise `done` rejects. */
  retryable: (err: ExitError) => boolean;
  /** Every event, in order, each once across reconnects (playbook events are sent again on each connection). */
  onEvent: (ev: LogEventMsg) => void;
  /** The connection failed (`err`) or ended before the job did (undefined); a retry follows. */
  onDrop?: (err: ExitError | undefined) => void;
}

export class JobStream {
  /** Bytes held per `stage/attempt`: where a new connection resumes. */
  readonly have: Record<string, number> = {};
  /** The current connection has delivered an event. */
  connected = false;
  /** Why the last connection failed, until events flow again. */
  error: string | undefined;
  /**
   * The job's last `end` event (with follow: only once it has ended); undefined when closed
   * first or a one-pass stream had no end. Rejects with the error that made the stream give up.
   */
  readonly done: Promise<JobMsg | undefined>;
  private call: grpc.ClientReadableStream<LogEventMsg> | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(RETRY);
  /** Moves to another address because a standby answered (bounded by the addresses given). */
  private standbyHops = 0;
  private readonly logBytes: boolean;
  private finish!: (end: JobMsg | undefined) => void;
  private fail!: (err: ExitError) => void;

  constructor(
    private readonly client: MeshrunClient,
    readonly id: string,
    private readonly o: JobStreamOptions,
  ) {
    this.logBytes = o.logBytes ?? true;
    this.done = new Promise<JobMsg | undefined>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
    this.done.catch(() => undefined);
    this.open();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.call?.cancel();
    this.call = undefined;
    this.finish(undefined);
  }

  private open(): void {
    if (this.closed) return;
    const have = { ...this.have };
    if (!this.logBytes) for (const k of this.o.knownAttempts?.() ?? []) have[k] = SKIP_BYTES;
    const call = this.client.followLogs(this.id, this.o.follow, have);
    this.call = call;
    let end: JobMsg | undefined;
    call.on('data', (ev: LogEventMsg) => {
      if (call !== this.call) return;
      this.connected = true;
      this.error = undefined;
      this.backoff.reset();
      if (ev.event === 'end') end = ev.end;
      this.onEvent(ev);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (call !== this.call || this.closed) return;
      this.connected = false;
      // a cancelled call we did not cancel: the connection went away under it
      const mapped = err.code === grpc.status.CANCELLED ? this.client.unreachable(err) : this.client.mapError(err);
      this.error = mapped.message;
      // a standby answered (it names the leader): go there, for a one-pass stream too
      if (isStandbyAnswer(err) && this.standbyHops++ < this.client.addresses.length && this.client.rotate(rpcErrorOf(err))) {
        this.open();
        return;
      }
      if (!this.o.follow || !this.o.retryable(mapped)) {
        this.closed = true;
        this.call = undefined;
        this.fail(mapped);
        return;
      }
      this.o.onDrop?.(mapped);
      // gone from this address: the next one may be the coordinator that leads now
      if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.CANCELLED) this.client.rotate(rpcErrorOf(err));
      this.reconnect(this.backoff.next());
    });
    call.on('end', () => {
      if (call !== this.call || this.closed) return;
      this.connected = false;
      if (!this.o.follow || (end && isTerminalJob(end.state as JobState))) {
        this.closed = true;
        this.call = undefined;
        this.finish(end);
        return;
      }
      this.o.onDrop?.(undefined);
      this.reconnect(this.backoff.next());
    });
  }

  private reconnect(delayMs: number): void {
    this.call?.cancel();
    this.call = undefined;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.open(), delayMs);
  }

  private onEvent(ev: LogEventMsg): void {
    if (ev.event === 'header') {
      const key = `${ev.header.stage}/${ev.header.attempt}`;
      if (this.logBytes) this.have[key] ??= 0;
      else if (this.have[key] === undefined) {
        // a new attempt began: reopen so its log bytes are skipped too
        this.have[key] = SKIP_BYTES;
        if (this.o.follow) this.reconnect(0);
      }
    } else if (ev.event === 'data' && this.logBytes) {
      this.have[`${ev.data.stage}/${ev.data.attempt}`] = ev.data.offset + ev.data.data.length;
    } else if (ev.event === 'gap' && this.logBytes) {
      // bytes the bus no longer holds: a reconnect asks for what follows them
      const key = `${ev.gap.stage}/${ev.gap.attempt}`;
      this.have[key] = Math.max(this.have[key] ?? 0, ev.gap.to);
    }
    this.o.onEvent(ev);
  }
}
