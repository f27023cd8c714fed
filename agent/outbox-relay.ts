// Relays the outbox to JetStream in order and publishes the runs' log chunks, giving up on a
// publish the moment the bus drops. Records go in batches of up to RELAY_WINDOW published at
// once (one fdatasync of the outbox before, one cursor write after), not one round trip each:
// a burst of run ends is relayed in about one round trip. Publishes on one connection reach
// the stream in the order sent; after a failed one the batch is sent again from it (the ones
// after it that landed are dropped as duplicates by their message ids).
import type { NatsConnection } from '@nats-io/transport-node';
import { headers } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Subjects } from '../proto/subjects.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { Backoff, sleep } from '../lib/backoff.js';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import { Limits } from '../lib/limits.js';
import type { Logger } from '../lib/log.js';
import { capLogChunk } from './log-cap.js';
import type { Outbox } from './outbox.js';
import type { Channel } from './run-supervisor.js';

/** Idle: looked at again this often even without a wake (a record appended elsewhere). */
const IDLE_WAKE_MS = 500;
/** After a failed publish; constant, the bus is either back soon or the reconnect wakes us. */
const RETRY_PAUSE_MS = 250;
/** Outbox records published at once, at most. */
export const RELAY_WINDOW = 64;

/** The bus is away: nothing can be published until it reconnects. */
export class BusUnavailableError extends MeshrunError {
  constructor(message = 'bus not connected') {
    super(ErrorCode.Unreachable, message);
    this.name = 'BusUnavailableError';
  }
}

export interface OutboxRelayOptions {
  node: string;
  /** This agent's instance id: in log chunks' message ids, which no other node can guess. */
  instance: string;
  outbox: Outbox;
  log: Logger;
  /** The relay runs while this holds (the agent's state is RUNNING). */
  running(): boolean;
}

export class OutboxRelay {
  private js: JetStreamClient | undefined;
  /**
   * A publish sent just before the connection dropped is never answered after the
   * reconnect: it would sit out its whole timeout. Abandon such publishes when the bus
   * goes away (JetStream's message ids make the retry safe) and wake the relay when it
   * is back.
   */
  private busDown = false;
  private busLost = newBusLost();
  private idle: AbortController | undefined;
  private readonly retry = new Backoff({ initialMs: RETRY_PAUSE_MS, maxMs: RETRY_PAUSE_MS });

  constructor(private readonly opts: OutboxRelayOptions) {}

  /** Publishes go over `nc` from now on; the bus's status is watched from here. */
  attach(nc: NatsConnection): void {
    this.js = jetstream(nc, { timeout: 5000 });
    void this.watchBus(nc);
  }

  /** Relays the outbox until `running()` turns false (checked after each record or wait). */
  start(): void {
    void this.loop();
  }

  /** Cuts an idle wait short: a record was appended, the bus is back, or the agent stops. */
  wake(): void {
    this.idle?.abort();
  }

  /**
   * Publishes one log or playbook-event chunk under this node's name; its message id makes a
   * re-send a no-op. The id holds the instance: JetStream de-duplicates by id across subjects,
   * so an id another node could guess would let it have this node's chunks dropped.
   */
  async publishChunk(channel: Channel, token: RunToken, offset: number, data: Uint8Array): Promise<void> {
    if (channel !== 'log') return this.publishAt(channel, token, offset, data);
    // a log is relayed up to its limit; the chunk that crosses it ends with a line saying so
    const cut = capLogChunk(offset, data, Limits.logMaxBytesPerRun);
    if (cut.head.length > 0) await this.publishAt(channel, token, offset, cut.head);
    if (cut.marker) await this.publishAt(channel, token, Limits.logMaxBytesPerRun, cut.marker);
  }

  private async publishAt(channel: Channel, token: RunToken, offset: number, data: Uint8Array): Promise<void> {
    if (!this.js) throw new BusUnavailableError();
    const h = headers();
    h.set('Mr-Offset', String(offset));
    const { node, instance } = this.opts;
    const subject = channel === 'log' ? Subjects.log(token, node) : Subjects.playbookEvents(token, node);
    await this.publish(subject, data, { msgID: `${channel}:${instance}:${tokenKey(token)}@${offset}+${data.length}`, headers: h, timeout: 2000 });
  }

  private async watchBus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.busDown = true;
        this.busLost.reject(new BusUnavailableError('bus disconnected'));
      } else if (s.type === 'reconnect') {
        this.busDown = false;
        this.busLost = newBusLost();
        this.wake();
      }
    }
  }

  private publish(subject: string, data: Uint8Array | string, opts: Parameters<JetStreamClient['publish']>[2]): Promise<unknown> {
    if (!this.js || this.busDown) return Promise.reject(new BusUnavailableError());
    return Promise.race([this.js.publish(subject, data, opts), this.busLost.promise]);
  }

  private async loop(): Promise<void> {
    const { outbox, log } = this.opts;
    while (this.opts.running()) {
      const batch = outbox.peekMany(RELAY_WINDOW);
      if (batch.length === 0 || !this.js || this.busDown) {
        this.idle = new AbortController();
        await sleep(IDLE_WAKE_MS, this.idle.signal);
        continue;
      }
      outbox.sync();
      const subject = Subjects.runEvents(this.opts.node);
      const results = await Promise.allSettled(batch.map((rec) => this.publish(subject, JSON.stringify(rec), { msgID: rec.id, timeout: 5000 })));
      // acknowledged in order: up to the first that failed
      const failed = results.findIndex((r) => r.status === 'rejected');
      const done = failed < 0 ? batch.length : failed;
      if (done > 0) outbox.ack(batch[done - 1]!.seq);
      if (failed < 0) {
        this.retry.reset();
        continue;
      }
      log.debug('outbox relay paused', { err: (results[failed] as PromiseRejectedResult).reason, pending: outbox.size });
      await this.retry.wait();
    }
  }
}

function newBusLost(): { promise: Promise<never>; reject: (e: Error) => void } {
  let reject!: (e: Error) => void;
  const promise = new Promise<never>((_, rej) => (reject = rej));
  promise.catch(() => undefined); // observed by whichever publish races it
  return { promise, reject };
}
