// Folds the ansible event stream into a progress snapshot (current play/task, host counts,
// failures) and renders it as one status line; pure, so CLI, agent and coordinator share it.
import type { AnsibleEvent, HostStatus, RecapCounts } from '../proto/ansible-events.js';

/** Per-status counts. Unlike Ansible's recap, `ok` excludes `changed` here. */
export type HostCounts = Record<HostStatus, number>;

export interface Failure {
  host: string;
  task: string;
  status: 'failed' | 'unreachable';
  msg: string;
  rc?: number;
}

export interface ProgressState {
  playbook: string | null;
  play: string | null;
  task: string | null;
  /** Start order of the current task in its play; 0 before the first task. */
  taskIndex: number;
  /** Expected tasks in the play, raised to taskIndex when includes add more; null = unknown. */
  taskCount: number | null;
  /** The current task is a handler; taskIndex then counts handlers. */
  handler: boolean;
  hosts: { current: HostCounts; total: HostCounts };
  /** Failures that count against the run (ignore_errors results are left out). */
  failures: Failure[];
  recap: Record<string, RecapCounts> | null;
  done: boolean;
  /** null until playbook_end. */
  ok: boolean | null;
  aborted: boolean;
  /** Highest seq applied: replays and duplicate relays are ignored. */
  lastSeq: number;
}

const zeroCounts = (): HostCounts => ({ ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 });

export function initialProgress(): ProgressState {
  return {
    playbook: null,
    play: null,
    task: null,
    taskIndex: 0,
    taskCount: null,
    handler: false,
    hosts: { current: zeroCounts(), total: zeroCounts() },
    failures: [],
    recap: null,
    done: false,
    ok: null,
    aborted: false,
    lastSeq: 0,
  };
}

export function reduceProgress(state: ProgressState, event: AnsibleEvent): ProgressState {
  if (event.seq <= state.lastSeq) return state;
  const s: ProgressState = { ...state, lastSeq: event.seq };
  switch (event.type) {
    case 'playbook_start':
      return { ...s, playbook: event.playbook };
    case 'play_start':
      return {
        ...s,
        play: event.play,
        task: null,
        taskIndex: 0,
        taskCount: event.taskCount,
        handler: false,
        hosts: { current: zeroCounts(), total: s.hosts.total },
      };
    case 'task_start': {
      const taskCount = event.handler || s.taskCount === null ? s.taskCount : Math.max(s.taskCount, event.taskIndex);
      return {
        ...s,
        task: event.task,
        taskIndex: event.taskIndex,
        taskCount,
        handler: event.handler,
        hosts: { current: zeroCounts(), total: s.hosts.total },
      };
    }
    case 'host_result': {
      // An ignored failure does not fail the host (Ansible counts it ok+ignored).
      const status: HostStatus = event.status === 'failed' && event.ignoreErrors === true ? 'ok' : event.status;
      const hosts = {
        current: { ...s.hosts.current, [status]: s.hosts.current[status] + 1 },
        total: { ...s.hosts.total, [status]: s.hosts.total[status] + 1 },
      };
      if (status !== 'failed' && status !== 'unreachable') return { ...s, hosts };
      const failure: Failure = { host: event.host, task: event.task, status, msg: event.msg ?? '' };
      if (event.rc !== undefined) failure.rc = event.rc;
      return { ...s, hosts, failures: [...s.failures, failure] };
    }
    case 'recap':
      return { ...s, recap: event.hosts };
    case 'playbook_end':
      return { ...s, done: true, ok: event.ok, aborted: event.aborted === true };
  }
}

const NAME_MAX = 60;

function quote(name: string): string {
  const short = name.length > NAME_MAX ? `${name.slice(0, NAME_MAX - 1)}…` : name;
  return JSON.stringify(short);
}

function countsText(c: HostCounts): string {
  let text = `ok ${c.ok} changed ${c.changed} failed ${c.failed}`;
  if (c.skipped > 0) text += ` skipped ${c.skipped}`;
  if (c.unreachable > 0) text += ` unreachable ${c.unreachable}`;
  return text;
}

/** One TTY line, e.g. `play "site" · task 3/20 "install pkgs" · ok 2 changed 1 failed 0`. */
export function renderProgressLine(state: ProgressState): string {
  if (state.done) {
    const verdict = state.aborted ? 'aborted' : state.ok ? 'ok' : 'failed';
    return `playbook ${verdict} · ${countsText(state.hosts.total)}`;
  }
  if (state.play === null) return state.playbook === null ? 'waiting for ansible-playbook' : 'starting playbook';
  const parts = [`play ${quote(state.play)}`];
  if (state.task !== null) {
    const total = state.taskCount === null ? '?' : String(state.taskCount);
    parts.push(state.handler ? `handler ${quote(state.task)}` : `task ${state.taskIndex}/${total} ${quote(state.task)}`);
    parts.push(countsText(state.hosts.current));
  }
  return parts.join(' · ');
}

const MSG_MAX = 200;

/** One line per failing host: which host, at which task, and the first line-ish of why. */
export function summarizeFailures(state: ProgressState): string[] {
  return state.failures.map((f) => {
    const flat = f.msg.replace(/\s+/g, ' ').trim();
    const msg = flat.length > MSG_MAX ? `${flat.slice(0, MSG_MAX - 1)}…` : flat;
    const rc = f.rc !== undefined && f.rc !== 0 ? ` (rc ${f.rc})` : '';
    return `${f.host} ${f.status} at task ${quote(f.task)}${rc}: ${msg || 'no message'}`;
  });
}
