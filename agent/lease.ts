// The agent's lease on its runs: every heartbeat the coordinator answers renews it; once it
// runs out the node counts as cut off, and runs whose work will be redone elsewhere are fenced.
import type { NatsConnection } from '@nats-io/transport-node';
import { RequestError } from '@nats-io/transport-node';
import { heartbeatReplySchema, type Heartbeat, type StopReason } from '../proto/bus.js';
import { decode } from '../proto/decode.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { Subjects } from '../proto/subjects.js';
import type { Logger } from '../lib/log.js';

export interface LeaseOptions {
  node: string;
  leaseMs: number;
  heartbeatMs: number;
  log: Logger;
  /** This node's runs (the supervisor): which a lost lease stops, and how to stop one. */
  runs: {
    fenceable(leaseExpiredForMs: number): RunToken[];
    stop(token: RunToken, reason: StopReason): boolean;
  };
  /** A heartbeat timed out (not "no responders"): the agent checks its own server. */
  onUnanswered?: () => void;
}

const MAX_HEARTBEATS_IN_FLIGHT = 3;

export class Lease {
  private renewedAt = Date.now();
  /** The latest heartbeat a coordinator really answered (send time); 0: none yet. */
  private confirmedAt = 0;
  /** Since when the connection is up (a heartbeat answered before that does not count for starts). */
  private connectedSince = Date.now();
  private fenced = false;
  private noCoordinator = false;
  private busDown = false;
  /** The last answer came from a coordinator taking over the lead (hold, no confirmation). */
  private takingOver = false;
  /**
   * Heartbeats overlap (a few at most): one sent to a coordinator that just died waits out
   * its whole timeout, and the lease must not run out meanwhile when the next heartbeat,
   * one interval later, would learn at once that no coordinator is there (and hold).
   */
  private inFlight = 0;

  constructor(private readonly opts: LeaseOptions) {}

  /**
   * The lease is live: a coordinator answered a heartbeat sent since the connection last came
   * up, within the lease, and the runs are not fenced. Only then does the agent start runs.
   */
  live(now = Date.now()): boolean {
    return !this.fenced && this.confirmedAt >= this.connectedSince && now - this.confirmedAt <= this.opts.leaseMs;
  }

  /** The bus connection came back: starts wait until a heartbeat sent from now on is answered. */
  reconnected(now = Date.now()): void {
    this.connectedSince = now;
  }

  /**
   * Every configured nats-server refused a connection at `at` (dialled before that moment):
   * the bus is down, so no coordinator can notice this node's silence or reassign its runs,
   * and one that comes back gives every node a fresh grace. Hold the runs, as with no responders.
   */
  busRefused(at: number): void {
    if (this.fenced) return; // already fenced: only an answered heartbeat lifts that
    this.renew(at);
    if (!this.busDown) this.opts.log.warn('nats-server refuses connections (down or restarting); holding runs until it is back');
    this.busDown = true;
  }

  /** On every supervisor tick: past the lease, fence what would be reassigned (and what has become so since). */
  check(now = Date.now()): void {
    const { runs, log, leaseMs } = this.opts;
    const expiredFor = now - this.renewedAt - leaseMs;
    if (expiredFor <= 0) return;
    const toFence = runs.fenceable(expiredFor);
    if (toFence.length === 0 && this.fenced) return;
    if (!this.fenced) log.warn('lease expired: cut off from the coordinator, fencing runs that will be reassigned', { leaseMs, runs: toFence.map(tokenKey) });
    this.fenced = true;
    for (const t of toFence) runs.stop(t, 'fenced');
  }

  /** Sends one heartbeat (none while the last is unanswered) and applies the coordinator's reply. */
  async heartbeat(nc: NatsConnection, build: () => Heartbeat): Promise<void> {
    if (this.inFlight >= MAX_HEARTBEATS_IN_FLIGHT) return;
    this.inFlight += 1;
    const hb = build();
    try {
      const msg = await nc.request(Subjects.heartbeat(this.opts.node), JSON.stringify(hb), { timeout: Math.max(1000, this.opts.heartbeatMs * 2) });
      this.onReply(msg.data, hb.sentAt);
    } catch (err) {
      this.onNoReply(err, hb.sentAt);
    } finally {
      this.inFlight -= 1;
    }
  }

  private onReply(data: Uint8Array, sentAt: number): void {
    const { log, runs } = this.opts;
    const reply = decode(heartbeatReplySchema, data);
    if (!reply.ok) {
      log.warn('malformed heartbeat reply ignored', { errors: reply.errors });
      return;
    }
    if (!reply.value.ok) {
      log.warn('coordinator refused heartbeat', { error: reply.value.error });
      return;
    }
    if (reply.value.hold) {
      // a coordinator has just taken the lead and loads its state: nobody can reassign our
      // runs meanwhile, so hold them - but start nothing on this answer
      if (this.fenced) return; // already fenced: only a full answer lifts that
      this.renew(sentAt);
      if (!this.takingOver) log.info('a coordinator is taking over the lead; holding runs until it answers in full');
      this.takingOver = true;
      return;
    }
    this.renew(sentAt);
    this.confirmedAt = Math.max(this.confirmedAt, sentAt);
    if (this.noCoordinator || this.busDown || this.takingOver) log.info('coordinator answering again');
    this.noCoordinator = false;
    this.busDown = false;
    this.takingOver = false;
    if (this.fenced) {
      this.fenced = false;
      log.info('lease renewed: back in contact with the coordinator');
    }
    for (const t of reply.value.superseded) runs.stop(t, 'superseded');
    for (const t of reply.value.cancel) runs.stop(t, 'cancelled');
  }

  /** Answers may arrive out of order: the lease runs from the latest heartbeat answered. */
  private renew(sentAt: number): void {
    this.renewedAt = Math.max(this.renewedAt, sentAt);
  }

  private onNoReply(err: unknown, sentAt: number): void {
    const { log } = this.opts;
    if (err instanceof RequestError && err.isNoResponders()) {
      // Connected to the bus and nobody serves heartbeats: no coordinator is running,
      // so nobody can reassign our runs. Hold them (a coordinator that starts gives
      // every node a full heartbeat grace before it fails anything over).
      this.renew(sentAt);
      if (!this.noCoordinator) log.warn('no coordinator on the bus; holding runs until one answers');
      this.noCoordinator = true;
    } else {
      log.debug('heartbeat not acknowledged', { err });
      this.opts.onUnanswered?.();
    }
  }
}
