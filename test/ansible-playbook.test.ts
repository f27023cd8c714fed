// Integration: real ansible-playbook (local connection) with the meshrun_events callback;
// checks the events file for a 20-task run, a failing task, an unreachable host, a SIGTERM, and
// secret values masked (no events at all when the values cannot be read).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEventLine, type AnsibleEvent } from '../proto/ansible-events.js';
import { buildPlaybookCommand, varsFileContent, type PlaybookRunSpec } from '../agent/ansible/playbook-command.js';
import { initialProgress, reduceProgress, renderProgressLine, summarizeFailures } from '../lib/playbook-progress.js';

let ws: string;
beforeEach(async () => {
  ws = await mkdtemp(path.join(tmpdir(), 'meshrun-ansible-'));
});
afterEach(async () => {
  await rm(ws, { recursive: true, force: true });
});

const EVENTS = 'run.events.jsonl';

async function readEvents(): Promise<AnsibleEvent[]> {
  const text = await readFile(path.join(ws, EVENTS), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const res = parseEventLine(line);
      if (!res.ok) throw new Error(`bad event line ${line}: ${res.error}`);
      return res.event;
    });
}

async function runPlaybook(spec: PlaybookRunSpec, env: Record<string, string> = {}) {
  const cmd = buildPlaybookCommand(spec, { cwd: ws, eventsFile: EVENTS });
  const [file, ...args] = cmd.argv;
  const proc = await execa(file!, args, { cwd: cmd.cwd, env: { ...cmd.env, ...env }, reject: false, all: true });
  return { exitCode: proc.exitCode, output: proc.all ?? '', events: await readEvents() };
}

const ofType = <T extends AnsibleEvent['type']>(events: AnsibleEvent[], type: T) =>
  events.filter((e): e is Extract<AnsibleEvent, { type: T }> => e.type === type);

function expectSeqIncreasing(events: AnsibleEvent[]) {
  events.forEach((e, i) => expect(e.seq).toBe(i + 1));
}

// 20 tasks: every third is skipped by `when`, every other one is a changed `command`.
function twentyTasks(): string {
  const tasks = Array.from({ length: 20 }, (_, i) => {
    const n = i + 1;
    if (n % 3 === 0) return `    - name: task ${n}\n      debug: { msg: "never" }\n      when: false`;
    if (n % 2 === 0) return `    - name: task ${n}\n      command: echo ${n}`;
    return `    - name: task ${n}\n      debug: { msg: "hello ${n}" }`;
  });
  return `- name: twenty\n  hosts: all\n  gather_facts: false\n  tasks:\n${tasks.join('\n')}\n`;
}

describe('meshrun_events callback with real ansible-playbook', () => {
  it('reports a 20-task run in order, with one result per task, the recap and the end', async () => {
    await writeFile(path.join(ws, 'site.yml'), twentyTasks());
    const { exitCode, output, events } = await runPlaybook({ playbook: 'site.yml' });
    expect(exitCode, output).toBe(0);
    // Human-readable output still goes to stdout, free of escape codes.
    expect(output).toContain('PLAY RECAP');
    expect(output).not.toContain('\u001b[');

    expectSeqIncreasing(events);
    expect(events[0]).toMatchObject({ type: 'playbook_start', playbook: path.join(ws, 'site.yml') });
    expect(events[1]).toMatchObject({ type: 'play_start', play: 'twenty', hosts: ['localhost'], taskCount: 20 });

    const starts = ofType(events, 'task_start');
    expect(starts.map((e) => e.taskIndex)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(starts.map((e) => e.task)).toEqual(Array.from({ length: 20 }, (_, i) => `task ${i + 1}`));
    expect(starts.every((e) => !e.handler && e.play === 'twenty')).toBe(true);

    const results = ofType(events, 'host_result');
    expect(results.map((r) => r.task)).toEqual(starts.map((s) => s.task));
    const expected = starts.map((_, i) => ((i + 1) % 3 === 0 ? 'skipped' : (i + 1) % 2 === 0 ? 'changed' : 'ok'));
    expect(results.map((r) => r.status)).toEqual(expected);
    // Each result follows its own task_start.
    for (const r of results) {
      const start = starts.find((s) => s.task === r.task)!;
      expect(r.seq).toBeGreaterThan(start.seq);
    }

    const tail = events.slice(-2);
    expect(tail[0]).toMatchObject({
      type: 'recap',
      hosts: { localhost: { ok: 14, changed: 7, failed: 0, skipped: 6, unreachable: 0, rescued: 0, ignored: 0 } },
    });
    expect(tail[1]).toMatchObject({ type: 'playbook_end', ok: true });
    expect(tail[1]).not.toHaveProperty('aborted');

    const state = events.reduce(reduceProgress, initialProgress());
    expect(state).toMatchObject({ done: true, ok: true, taskIndex: 20, taskCount: 20, failures: [] });
    expect(state.hosts.total).toEqual({ ok: 7, changed: 7, failed: 0, skipped: 6, unreachable: 0 });
    expect(renderProgressLine(state)).toBe('playbook ok · ok 7 changed 7 failed 0 skipped 6');
  });

  it('reports a failing task with its message and ends with ok:false and a non-zero exit', async () => {
    await writeFile(
      path.join(ws, 'fail.yml'),
      [
        '- name: failing',
        '  hosts: all',
        '  gather_facts: false',
        '  tasks:',
        '    - name: tolerated',
        '      command: sh -c "echo meh >&2; exit 1"',
        '      ignore_errors: true',
        '    - name: break things',
        '      command: sh -c "echo disk on fire >&2; exit 3"',
        '    - name: never reached',
        '      debug: { msg: "no" }',
        '',
      ].join('\n'),
    );
    const { exitCode, events } = await runPlaybook({ playbook: 'fail.yml' });
    expect(exitCode).not.toBe(0);
    expectSeqIncreasing(events);
    expect(ofType(events, 'play_start')[0]?.taskCount).toBe(3);
    expect(ofType(events, 'task_start').map((e) => e.task)).toEqual(['tolerated', 'break things']);

    const [tolerated, broken] = ofType(events, 'host_result');
    expect(tolerated).toMatchObject({ status: 'failed', ignoreErrors: true, rc: 1 });
    expect(broken).toMatchObject({ task: 'break things', host: 'localhost', status: 'failed', rc: 3, ignoreErrors: false });
    expect(broken?.msg).toContain('disk on fire');

    expect(events.at(-2)).toMatchObject({ type: 'recap', hosts: { localhost: { failed: 1, ignored: 1 } } });
    expect(events.at(-1)).toMatchObject({ type: 'playbook_end', ok: false });

    const state = events.reduce(reduceProgress, initialProgress());
    expect(summarizeFailures(state)).toEqual([expect.stringMatching(/^localhost failed at task "break things" \(rc 3\): .*disk on fire/)]);
  });

  it('masks the run\'s secret values in every event, and writes none when it cannot read them', async () => {
    const secret = 'hunter2-not-for-events';
    await writeFile(
      path.join(ws, 'secret.yml'),
      ['- name: play with hunter2-not-for-events', '  hosts: all', '  gather_facts: false', '  tasks:', '    - name: task hunter2-not-for-events', '      fail: { msg: "bad {{ token }} and its line" }', ''].join('\n'),
    );
    // as the agent runs it: the value in a vars file, the values to mask in another
    const spec = { playbook: 'secret.yml', extraVars: { token: secret } };
    await writeFile(path.join(ws, 'vars.json'), varsFileContent(spec.extraVars), { mode: 0o600 });
    await writeFile(path.join(ws, 'mask.json'), JSON.stringify([secret]), { mode: 0o600 });
    const cmd = buildPlaybookCommand(spec, { cwd: ws, eventsFile: EVENTS, varsFile: path.join(ws, 'vars.json') });
    const [file, ...args] = cmd.argv;
    const run = await execa(file!, args, { cwd: ws, env: { ...cmd.env, MESHRUN_MASK_FILE: path.join(ws, 'mask.json') }, reject: false });
    expect(run.exitCode).not.toBe(0);
    const text = await readFile(path.join(ws, EVENTS), 'utf8');
    expect(text).not.toContain(secret);
    const events = await readEvents();
    expect(ofType(events, 'play_start')[0]?.play).toBe('play with ***');
    expect(ofType(events, 'host_result')[0]).toMatchObject({ task: 'task ***', status: 'failed', msg: 'bad *** and its line' });

    await rm(path.join(ws, EVENTS));
    const unread = await execa(file!, args, { cwd: ws, env: { ...cmd.env, MESHRUN_MASK_FILE: path.join(ws, 'missing.json') }, reject: false, all: true });
    expect(unread.exitCode, 'the playbook itself still runs').not.toBe(0);
    expect(unread.all).toMatch(/meshrun_events: cannot read MESHRUN_MASK_FILE/);
    expect(await readFile(path.join(ws, EVENTS), 'utf8').catch(() => ''), 'no events rather than unmasked ones').toBe('');
  });

  it('reports an unreachable host', async () => {
    await writeFile(path.join(ws, 'hosts.ini'), 'nowhere ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1\n');
    await writeFile(
      path.join(ws, 'ping.yml'),
      '- name: reach\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: ping it\n      ping:\n',
    );
    const { exitCode, events } = await runPlaybook({ playbook: 'ping.yml', inventory: 'hosts.ini' });
    expect(exitCode).toBe(4);
    expectSeqIncreasing(events);
    expect(ofType(events, 'play_start')[0]).toMatchObject({ hosts: ['nowhere'], taskCount: 1 });
    const [result] = ofType(events, 'host_result');
    expect(result).toMatchObject({ task: 'ping it', host: 'nowhere', status: 'unreachable' });
    expect(result?.msg).toMatch(/port 1|Connection refused/);
    expect(events.at(-2)).toMatchObject({ type: 'recap', hosts: { nowhere: { unreachable: 1 } } });
    expect(events.at(-1)).toMatchObject({ type: 'playbook_end', ok: false });
  });

  it('counts tasks after --tags filtering and includes fact gathering', async () => {
    await writeFile(
      path.join(ws, 'tagged.yml'),
      [
        '- name: tagged',
        '  hosts: all',
        '  gather_facts: true',
        '  gather_subset: [min]',
        '  tasks:',
        '    - { name: a, debug: { msg: a }, tags: [pkgs] }',
        '    - { name: b, debug: { msg: b } }',
        '    - { name: c, debug: { msg: c }, tags: [pkgs] }',
        '',
      ].join('\n'),
    );
    const { exitCode, events } = await runPlaybook({ playbook: 'tagged.yml', tags: ['pkgs'] });
    expect(exitCode).toBe(0);
    expect(ofType(events, 'play_start')[0]?.taskCount).toBe(3);
    expect(ofType(events, 'task_start').map((e) => `${e.taskIndex}:${e.task}`)).toEqual(['1:Gathering Facts', '2:a', '3:c']);
  });

  it('still closes the stream when the run is cancelled with SIGTERM', async () => {
    await writeFile(
      path.join(ws, 'slow.yml'),
      '- name: slow\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: wait\n      command: sleep 30\n',
    );
    const cmd = buildPlaybookCommand({ playbook: 'slow.yml' }, { cwd: ws, eventsFile: EVENTS });
    const [file, ...args] = cmd.argv;
    // Own process group, like the detached runner, so the cancel reaches the module too.
    const proc = execa(file!, args, { cwd: cmd.cwd, env: cmd.env, reject: false, detached: true });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const text = await readFile(path.join(ws, EVENTS), 'utf8').catch(() => '');
      if (text.includes('"task_start"')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(-proc.pid!, 'SIGTERM');
    const done = await proc;
    expect(done.signal).toBe('SIGTERM');
    const events = await readEvents();
    expectSeqIncreasing(events);
    expect(events.at(-1)).toMatchObject({ type: 'playbook_end', ok: false, aborted: true, signal: 'SIGTERM' });
  });
});
