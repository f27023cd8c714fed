// Per-host playbook progress for the dashboard: the shared progress fold (lib/playbook-progress.ts)
// plus each host's result counts and last task. Pure, and idempotent by event seq, so a stream
// that replays a run's events after a reconnect builds the same picture.
import type { AnsibleEvent, HostStatus } from '../../proto/ansible-events.js';
import { initialProgress, reduceProgress, type ProgressState } from '../../lib/playbook-progress.js';

/** Hosts one run's picture holds (a play over more is summarised by the counts). */
export const HOSTS_MAX = 500;

export interface HostProgress {
  counts: Record<HostStatus, number>;
  lastTask: string;
  lastStatus: HostStatus;
}

export interface RunProgress {
  progress: ProgressState;
  hosts: Record<string, HostProgress>;
}

export function initialRunProgress(): RunProgress {
  return { progress: initialProgress(), hosts: {} };
}

export function reduceRunProgress(r: RunProgress, ev: AnsibleEvent): RunProgress {
  if (ev.seq <= r.progress.lastSeq) return r;
  const progress = reduceProgress(r.progress, ev);
  if (ev.type !== 'host_result') return { progress, hosts: r.hosts };
  const known = r.hosts[ev.host];
  if (!known && Object.keys(r.hosts).length >= HOSTS_MAX) return { progress, hosts: r.hosts };
  const counts = { ...(known?.counts ?? { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 }) };
  counts[ev.status] += 1;
  return { progress, hosts: { ...r.hosts, [ev.host]: { counts, lastTask: ev.task, lastStatus: ev.status } } };
}
