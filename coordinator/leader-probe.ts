// Is a coordinator running against this bus? Its leader lease (bucket mr_leader, key `leader`)
// says so while it is renewed: a graceful stop deletes the entry, a killed coordinator leaves
// one that is never renewed again. Used by `meshrun store copy`, which must not copy a store
// that a coordinator is still writing to.
import type { KV } from '@nats-io/kv';
import { decode } from '../proto/decode.js';
import { coordinatorDefaults } from './defaults.js';
import { LEADER_KEY, leaderRecordSchema, machineId, processAlive, type LeaderRecord } from './leadership.js';

export type LeaseState =
  /** No entry, or the last holder released it (graceful stop). */
  | { state: 'free'; revision: number }
  /** An entry that was not renewed for a whole lease, or whose holder on this machine is gone. */
  | { state: 'lapsed'; revision: number; holder: LeaderRecord | undefined; why: string }
  /** Renewed while we watched: a coordinator (or a copy) holds it. */
  | { state: 'live'; revision: number; holder: LeaderRecord | undefined };

export interface ProbeOptions {
  /** The lease assumed when the record does not say (a coordinator older than the field). */
  defaultLeaseMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Watches the lease until it is renewed (live) or a whole lease passed without a renewal
 * (lapsed); returns at once when there is none. A holder renews every third of its lease, so
 * a live one is seen within a third of it; only a dead one costs the whole lease.
 */
export async function probeLease(kv: KV, o: ProbeOptions = {}): Promise<LeaseState> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const first = await kv.get(LEADER_KEY);
  if (!first || first.operation !== 'PUT') return { state: 'free', revision: first?.revision ?? 0 };
  const rec = decode(leaderRecordSchema, first.string());
  const holder = rec.ok ? rec.value : undefined;
  if (holder && holder.machine === machineId() && !processAlive(holder.pid)) {
    return { state: 'lapsed', revision: first.revision, holder, why: `is gone (no process ${holder.pid} on this machine)` };
  }
  const leaseMs = holder?.leaseMs ?? o.defaultLeaseMs ?? coordinatorDefaults.leaderLeaseMs;
  // a renewal sent just before the lease ends may land a little after it
  const deadline = Date.now() + leaseMs + Math.max(500, leaseMs / 3);
  const every = Math.min(250, Math.max(50, leaseMs / 12));
  while (Date.now() < deadline) {
    await sleep(every);
    const now = await kv.get(LEADER_KEY);
    if (!now || now.operation !== 'PUT') return { state: 'free', revision: now?.revision ?? 0 };
    if (now.revision !== first.revision) {
      const r = decode(leaderRecordSchema, now.string());
      return { state: 'live', revision: now.revision, holder: r.ok ? r.value : undefined };
    }
  }
  return { state: 'lapsed', revision: first.revision, holder, why: `has not renewed it for a whole lease (${leaseMs} ms)` };
}

/** "coordinator 3f2a... at 10.0.0.5:7433 (pid 4242 on host-a)", for refusals. */
export function describeHolder(h: LeaderRecord | undefined): string {
  if (!h) return 'a holder whose record is unreadable';
  const at = h.address ? ` at ${h.address}` : '';
  return `${h.id}${at} (pid ${h.pid} on ${h.host})`;
}
