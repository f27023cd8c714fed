// Publishes to JetStream with a bounded number of acks outstanding, for bulk copies: each
// message is a plain publish with a reply subject under one inbox, and one subscription counts
// the acks. Four times the rate of awaiting `js.publish` per message (a promise, a timer and a
// request record each), with the same guarantee: done only once every message is acked.
import { createInbox, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

export interface PublishWindowOptions {
  /** Messages sent but not acked yet, at most. */
  maxInFlight: number;
  /** No ack at all for this long while some are outstanding: fail. */
  ackTimeoutMs: number;
  /** Names the messages in errors (the stream copied). */
  label: string;
}

export class PublishWindow {
  private readonly inbox = createInbox();
  private readonly sub: Subscription;
  private sent = 0;
  private acked = 0;
  private lastAckAt = Date.now();
  private room: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly watchdog: NodeJS.Timeout;
  /** Acks that said the stream already held the message's `Nats-Msg-Id`. */
  duplicates = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: PublishWindowOptions,
  ) {
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (err, m) => this.onAck(err, m.subject, m.headers, m.data) });
    this.watchdog = setInterval(() => {
      if (this.acked < this.sent && Date.now() - this.lastAckAt > o.ackTimeoutMs) this.fail(new Error(`${o.label}: no publish ack for ${o.ackTimeoutMs / 1000} s (${this.sent - this.acked} outstanding)`));
    }, 500);
  }

  /** Sends one message (one caller at a time); resolves when another may be sent. Rejects once any message was refused. */
  async publish(subject: string, data: Uint8Array, headers: MsgHdrs | undefined, id: number): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.sent === this.acked) this.lastAckAt = Date.now(); // the ack timeout counts from here
    this.nc.publish(subject, data, { reply: `${this.inbox}.${id}`, ...(headers ? { headers } : {}) });
    this.sent += 1;
    while (this.sent - this.acked >= this.o.maxInFlight && !this.failure) await new Promise<void>((r) => (this.room = r));
    if (this.failure) throw this.failure;
  }

  /** Resolves once every message sent is acked; rejects with the first refusal. */
  async flush(): Promise<void> {
    while (this.acked < this.sent && !this.failure) await new Promise<void>((r) => (this.room = r));
    if (this.failure) throw this.failure;
  }

  close(): void {
    clearInterval(this.watchdog);
    this.sub.unsubscribe();
    this.wake();
  }

  private onAck(err: Error | null, subject: string, headers: MsgHdrs | undefined, data: Uint8Array): void {
    const id = subject.slice(this.inbox.length + 1);
    if (err) return this.fail(new Error(`${this.o.label}: ack subscription failed: ${err.message}`, { cause: err }));
    // a status instead of an ack: 503 when nothing on the target takes the subject
    if (headers?.code && headers.code >= 300) {
      const why = headers.code === 503 ? 'no stream on the target takes its subject' : `${headers.code} ${headers.description}`;
      return this.fail(new Error(`${this.o.label}: message ${id} not stored: ${why}`));
    }
    let ack: { duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
    try {
      ack = JSON.parse(new TextDecoder().decode(data)) as typeof ack;
    } catch {
      return this.fail(new Error(`${this.o.label}: message ${id}: unreadable publish ack`));
    }
    if (ack.error) return this.fail(new Error(`${this.o.label}: message ${id} refused: ${ack.error.description ?? 'unknown error'} (${ack.error.err_code ?? ack.error.code})`));
    if (ack.duplicate) this.duplicates += 1;
    this.acked += 1;
    this.lastAckAt = Date.now();
    this.wake();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const r = this.room;
    this.room = undefined;
    r?.();
  }
}
