// Reducer tests: a scripted event stream folds into the right play/task position,
// per-task and total host counts, failures, and one-line status text.
import { describe, expect, it } from 'vitest';
import type { AnsibleEvent } from '../proto/ansible-events.js';
import {
  initialProgress,
  reduceProgress,
  renderProgressLine,
  summarizeFailures,
  type ProgressState,
} from '../lib/playbook-progress.js';

type NoSeq<T> = T extends AnsibleEvent ? Omit<T, 'seq' | 'ts'> : never;

function stream(events: NoSeq<AnsibleEvent>[]): AnsibleEvent[] {
  return events.map((e, i) => ({ ...e, ts: 1000 + i, seq: i + 1 }) as AnsibleEvent);
}

const fold = (events: AnsibleEvent[], from: ProgressState = initialProgress()) => events.reduce(reduceProgress, from);

const run = stream([
  { type: 'playbook_start', playbook: '/ws/site.yml' },
  { type: 'play_start', play: 'site', hosts: ['web1', 'web2', 'db1'], taskCount: 20 },
  { type: 'task_start', play: 'site', task: 'ping', taskIndex: 1, action: 'ping', handler: false },
  { type: 'host_result', task: 'ping', host: 'web1', status: 'ok' },
  { type: 'host_result', task: 'ping', host: 'web2', status: 'ok' },
  { type: 'host_result', task: 'ping', host: 'db1', status: 'unreachable', msg: 'ssh: connect to host db1 port 22: Connection refused' },
  { type: 'task_start', play: 'site', task: 'install pkgs', taskIndex: 2, action: 'apt', handler: false },
  { type: 'host_result', task: 'install pkgs', host: 'web1', status: 'changed', rc: 0 },
  { type: 'host_result', task: 'install pkgs', host: 'web2', status: 'failed', msg: 'E: Unable to locate\n  package nginx-x', rc: 100 },
]);

describe('reduceProgress', () => {
  it('tracks the current play, task and per-task counts', () => {
    const s = fold(run);
    expect(s).toMatchObject({
      playbook: '/ws/site.yml',
      play: 'site',
      task: 'install pkgs',
      taskIndex: 2,
      taskCount: 20,
      done: false,
      ok: null,
    });
    expect(s.hosts.current).toEqual({ ok: 0, changed: 1, failed: 1, skipped: 0, unreachable: 0 });
    expect(s.hosts.total).toEqual({ ok: 2, changed: 1, failed: 1, skipped: 0, unreachable: 1 });
    expect(renderProgressLine(s)).toBe('play "site" · task 2/20 "install pkgs" · ok 0 changed 1 failed 1');
  });

  it('collects failures and unreachable hosts, and summarises them per host', () => {
    const s = fold(run);
    expect(s.failures.map((f) => [f.host, f.status, f.task])).toEqual([
      ['db1', 'unreachable', 'ping'],
      ['web2', 'failed', 'install pkgs'],
    ]);
    expect(summarizeFailures(s)).toEqual([
      'db1 unreachable at task "ping": ssh: connect to host db1 port 22: Connection refused',
      'web2 failed at task "install pkgs" (rc 100): E: Unable to locate package nginx-x',
    ]);
  });

  it('counts an ignored failure as ok and not as a failure', () => {
    const s = fold(
      stream([
        { type: 'play_start', play: 'p', hosts: ['h'], taskCount: 1 },
        { type: 'task_start', play: 'p', task: 't', taskIndex: 1, action: 'command', handler: false },
        { type: 'host_result', task: 't', host: 'h', status: 'failed', msg: 'meh', rc: 1, ignoreErrors: true },
      ]),
    );
    expect(s.failures).toEqual([]);
    expect(s.hosts.current.ok).toBe(1);
    expect(s.hosts.current.failed).toBe(0);
  });

  it('ignores replayed and duplicate events', () => {
    const once = fold(run);
    expect(fold(run, once)).toBe(once);
    expect(reduceProgress(once, run[3]!)).toBe(once);
  });

  it('resets the task position at each play but keeps totals', () => {
    const s = fold([
      ...run,
      { type: 'play_start', ts: 0, seq: 100, play: 'second', hosts: ['web1'], taskCount: 3 },
    ]);
    expect(s).toMatchObject({ play: 'second', task: null, taskIndex: 0, taskCount: 3 });
    expect(s.hosts.current.ok).toBe(0);
    expect(s.hosts.total.ok).toBe(2);
    expect(renderProgressLine(s)).toBe('play "second"');
  });

  it('raises taskCount when dynamic includes start more tasks than counted, and shows handlers apart', () => {
    const s = fold(
      stream([
        { type: 'play_start', play: 'p', hosts: ['h'], taskCount: 1 },
        { type: 'task_start', play: 'p', task: 'include', taskIndex: 1, action: 'include_tasks', handler: false },
        { type: 'task_start', play: 'p', task: 'included', taskIndex: 2, action: 'debug', handler: false },
      ]),
    );
    expect(s.taskCount).toBe(2);
    const h = reduceProgress(s, { type: 'task_start', ts: 0, seq: 50, play: 'p', task: 'restart nginx', taskIndex: 1, action: 'service', handler: true });
    expect(h.taskCount).toBe(2);
    expect(renderProgressLine(h)).toBe('play "p" · handler "restart nginx" · ok 0 changed 0 failed 0');
  });

  it('marks the run done from playbook_end and keeps the recap', () => {
    const recap = { web1: { ok: 2, changed: 1, failed: 0, skipped: 0, unreachable: 0, rescued: 0, ignored: 0 } };
    const s = fold([
      ...run,
      { type: 'recap', ts: 0, seq: 10, hosts: recap },
      { type: 'playbook_end', ts: 0, seq: 11, ok: false },
    ]);
    expect(s).toMatchObject({ done: true, ok: false, aborted: false, recap });
    expect(renderProgressLine(s)).toBe('playbook failed · ok 2 changed 1 failed 1 unreachable 1');
    const aborted = reduceProgress(s, { type: 'playbook_end', ts: 0, seq: 12, ok: false, aborted: true });
    expect(renderProgressLine(aborted)).toMatch(/^playbook aborted/);
  });

  it('renders sensible text before anything happened and with an unknown count', () => {
    expect(renderProgressLine(initialProgress())).toBe('waiting for ansible-playbook');
    const s = fold(
      stream([
        { type: 'playbook_start', playbook: 'x.yml' },
        { type: 'play_start', play: 'p', hosts: [], taskCount: null },
        { type: 'task_start', play: 'p', task: 'a'.repeat(100), taskIndex: 1, action: 'debug', handler: false },
      ]),
    );
    expect(renderProgressLine(s)).toMatch(/^play "p" · task 1\/\? "a{59}…" · ok 0/);
  });
});
