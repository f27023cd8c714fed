// One leader among several coordinators: a lease in JetStream KV (bucket mr_leader, key
// `leader`), taken and renewed with compare-and-set on the entry's revision. Standbys poll the
// entry; one that has seen no new revision for a whole lease (by its own clock, from when it
// first saw the last one) takes over with a compare-and-set on that revision, so exactly one
// wins. The leader counts its lease from when it *sent* its last successful renewal and gives
// up a margin before the lease ends, so it has stopped acting before any standby can start.
// Every job write is a compare-and-set as well (JobStore), which stops a deposed leader that
// has not noticed yet (paused, partitioned) from overwriting the new leader's state.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { z } from 'zod';
import { decode } from '../proto/decode.js';
import type { Logger } from '../lib/log.js';
import { busUnavailable } from '../lib/grpc-status.js';

export const LEADER_KEY = 'leader';

export const leaderRecordSchema = z.object({
  /** This coordinator process (random per start). */
  id: z.string().min(1).max(64),
  /** Its gRPC address, for operators (`meshrun` clients find the leader by trying each address). */
  address: z.string().max(256),
  pid: z.number().int(),
  host: z.string().max(256),
  /** /etc/machine-id (or the host name): a holder on this machine whose pid is gone is taken over at once. */
  machine: z.string().max(256),
  since: z.number(),
  /**
   * The holder's lease (--leader-lease): how long a reader must watch the entry before it may
   * call a silent holder gone (meshrun store copy does). Absent in records of older coordinators.
   */
  leaseMs: z.number().int().positive().optional(),
});
export type LeaderRecord = z.infer<typeof leaderRecordSchema>;

export interface LeadershipOptions {
  kv: () => KV;
  me: LeaderRecord;
  /** A standby takes over after seeing no renewal this long; the leader renews every third of it. */
  leaseMs: number;
  log: Logger;
  /** The lead is lost (another coordinator holds the lease): stop at once. */
  onLost: (why: string) => void;
  /** The lease is not confirmed in time: act on nothing until it is (or is lost). */
  onSuspended?: () => void;
  /** The lease is confirmed again after a time it was not (nobody took over meanwhile). */
  onRegained?: () => void;
  /**
   * The lease bucket did not answer (not a refusal): the server this coordinator is on may
   * be cut off from the cluster's majority, where another server would answer.
   */
  onBusTrouble?: () => void;
}

/** True for a refused compare-and-set (the entry is not at the revision we named). */
export function isWrongRevision(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

export class Leadership {
  private rev = 0;
  private confirmedSentAt = 0;
  private leading = false;
  /** Leading, but the lease is not confirmed: nothing is acted on until it is. */
  private suspended = false;
  private renewing = false;
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  private seenHolder?: LeaderRecord;

  constructor(private readonly opts: LeadershipOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** The coordinator holding the lease as this standby last read it (for clients that dial a standby). */
  get holder(): LeaderRecord | undefined {
    return this.leading ? this.opts.me : this.seenHolder;
  }

  /**
   * Leading, and sure of it right now: the last renewal confirmed was sent less than the lease
   * (minus the margin) ago. Checked before every job write, heartbeat reply and command sent,
   * so a leader that was paused past its lease acts on nothing when it resumes, before any
   * timer could tell it so.
   */
  valid(now = Date.now()): boolean {
    return this.leading && now - this.confirmedSentAt <= this.opts.leaseMs - this.marginMs;
  }

  /** How long before the lease ends the leader gives up (its clock may run a little fast). */
  private get marginMs(): number {
    return Math.max(200, this.opts.leaseMs / 6);
  }

  /** Waits as a standby until this coordinator holds the lead, then keeps renewing it. */
  async acquire(): Promise<void> {
    const { kv, me, leaseMs, log } = this.opts;
    let seenRev = -1;
    let seenAt = Date.now();
    let announced = '';
    while (!this.stopped) {
      const sentAt = Date.now();
      try {
        const e = await kv().get(LEADER_KEY);
        if (!e || e.operation !== 'PUT') {
          this.rev = await kv().create(LEADER_KEY, JSON.stringify(me));
        } else {
          const holder = decode(leaderRecordSchema, e.string());
          if (holder.ok) this.seenHolder = holder.value;
          if (e.revision !== seenRev) {
            seenRev = e.revision;
            seenAt = Date.now();
            // said once per leader, not at every renewal
            const id = holder.ok ? holder.value.id : 'unreadable';
            if (id !== announced) log.info('standby: another coordinator leads', { leader: holder.ok ? holder.value : 'unreadable record' });
            announced = id;
          }
          // a holder on this machine whose process is gone (this coordinator's previous run,
          // killed) writes nothing more: no need to wait its lease out
          const gone = holder.ok && holder.value.machine === me.machine && holder.value.id !== me.id && !processAlive(holder.value.pid);
          // our own takeover landed though its confirmation did not come back
          const ours = holder.ok && holder.value.id === me.id;
          if (!gone && !ours && Date.now() - seenAt < leaseMs) {
            await sleep(pollEveryMs(leaseMs));
            continue;
          }
          if (gone) log.info('the previous leader on this machine is gone; taking over', { pid: holder.ok ? holder.value.pid : null });
          else log.warn('the leader stopped renewing its lease; taking over', { lastRevision: seenRev, silentMs: Date.now() - seenAt });
          this.rev = await kv().update(LEADER_KEY, JSON.stringify(me), ours ? e.revision : seenRev);
        }
        // nats-server 2.9 in a cluster can let two compare-and-sets on one revision through when
        // they are proposed at the same moment (seen: two standbys each took over the same
        // revision). A second one, once neither is in flight, settles which landed last.
        this.rev = await kv().update(LEADER_KEY, JSON.stringify(me), this.rev);
        this.confirmedSentAt = sentAt;
        this.leading = true;
        log.info('leading: this coordinator holds the lease', { leaseMs, revision: this.rev });
        this.timers.push(setInterval(() => void this.renew(), renewEveryMs(leaseMs)));
        this.timers.push(setInterval(() => this.check(), 100));
        return;
      } catch (err) {
        if (!isWrongRevision(err)) {
          log.warn('leader lease not readable or writable; trying again', { err });
          this.opts.onBusTrouble?.();
          // JetStream does not answer: the holder cannot renew either. Its silence counts only
          // from when the bus answers again, so a leader that was merely held up by the bus
          // renews and keeps the lead (it has everything loaded) instead of a standby taking over.
          seenAt = Date.now();
        }
        // someone else won the race: watch their lease from now on
        await sleep(pollEveryMs(leaseMs));
      }
    }
  }

  private async renew(): Promise<void> {
    if (!this.leading || this.renewing) return;
    this.renewing = true;
    const sentAt = Date.now();
    try {
      // a request lost with a restarting server must not hold up the next renewal for long
      this.rev = await this.opts.kv().update(LEADER_KEY, JSON.stringify(this.opts.me), this.rev, Math.max(500, renewEveryMs(this.opts.leaseMs) * 2));
      this.confirmed(sentAt);
    } catch (err) {
      if (!isWrongRevision(err)) {
        this.opts.log.warn('leader lease not renewed', { err });
        this.opts.onBusTrouble?.();
      }
      // refused: unless the entry is still ours (a renewal that timed out here but landed), another coordinator leads
      else if (!(await this.stillOurs())) this.lose('another coordinator holds the lease now');
    } finally {
      this.renewing = false;
    }
  }

  private confirmed(sentAt: number): void {
    this.confirmedSentAt = Math.max(this.confirmedSentAt, sentAt);
    if (this.suspended && this.valid()) {
      this.suspended = false;
      this.opts.log.info('leader lease renewed; acting again');
      this.opts.onRegained?.();
    }
  }

  /** The entry is ours after all: adopt its revision (the lease still counts from a confirmed renewal). */
  private async stillOurs(): Promise<boolean> {
    try {
      const e = await this.opts.kv().get(LEADER_KEY);
      const r = e && e.operation === 'PUT' ? decode(leaderRecordSchema, e.string()) : undefined;
      if (!e || !r?.ok || r.value.id !== this.opts.me.id) return false;
      this.rev = e.revision;
      return true;
    } catch {
      return true; // cannot tell now: the next renewal decides
    }
  }

  /**
   * Past the lease without a confirmed renewal (the bus away, JetStream stalled, this process
   * paused): act on nothing, but keep trying to renew with the same revision. If nobody took
   * over meanwhile the renewal succeeds and this coordinator goes on (nodes get a fresh grace);
   * if one did, the renewal is refused and the lead is lost.
   */
  private check(): void {
    if (!this.leading || this.suspended || this.valid()) return;
    this.suspended = true;
    this.opts.log.warn('leader lease not confirmed in time; acting on nothing until it is renewed', { leaseMs: this.opts.leaseMs });
    this.opts.onSuspended?.();
  }

  /** A job write was refused: another coordinator wrote since (it leads now). */
  deposed(why: string): void {
    this.lose(why);
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.opts.log.error('lost the lead; stopping', { why });
    this.opts.onLost(why);
  }

  /** Gives the lead up at once (graceful stop): a standby takes over without waiting out the lease. */
  async release(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (!this.leading) return;
    this.leading = false;
    try {
      await this.opts.kv().delete(LEADER_KEY, { previousSeq: this.rev });
    } catch {
      // taken over already, or the bus is away: the lease lapses by itself
    }
  }
}

/**
 * The leader renews six times a lease and standbys look ten times a lease: a frozen leader is
 * noticed at most a lease plus a sixth plus a tenth after its last renewal, which agents'
 * leases (--lease) must outlast to hold their runs through the takeover.
 */
export const renewEveryMs = (leaseMs: number): number => Math.max(100, leaseMs / 6);
export const pollEveryMs = (leaseMs: number): number => Math.max(100, leaseMs / 10);

/**
 * Reads of the lease through its stream's leader, not any replica (KV "direct get"). A replica
 * answers even while the stream elects a leader after a server died - when no renewal can land -
 * and a standby would count that as the leader's silence and take over from a leader that was
 * only waiting for the bus (seen in the cluster test). Through the stream leader, a read fails
 * then, and the standby counts nothing. (nats.js keeps the choice in the bucket's `direct`.)
 */
export function leaderServedReads(kv: KV): KV {
  (kv as unknown as { direct: boolean }).direct = false;
  return kv;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** False only when `pid` is surely gone (no such process on this machine). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return true; // cannot tell: assume it lives
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** This machine's identity for the leader record: /etc/machine-id, else the host name. */
export function machineId(): string {
  try {
    const id = readFileSync('/etc/machine-id', 'utf8').trim();
    if (id) return id;
  } catch {
    // none
  }
  return hostname();
}

/**
 * What a write refused because the lead is not confirmed (renewals not landing) answers: "not
 * now, nothing written", which a client asks again as it does a bus that does not answer.
 */
export function leadNotConfirmed(): Error {
  return busUnavailable('this coordinator cannot confirm that it still leads (its lease is not renewed); nothing written');
}
