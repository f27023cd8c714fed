// Pipelines with handoffs against real processes and real ansible-playbook: the
// site-lab shape with a workspace and artifacts, always-run cleanup, parallel
// stages, outputs between stages, cancel mid-playbook, hostile workspaces.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from './fleet/netns.js';
import { Fleet, waitFor } from './harness/processes.js';

const tools = requireTools(['ansible-playbook']);
let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.start({
    agents: [
      { node: 'alpha', labels: 'role=bastion', slots: 4 },
      { node: 'beta', labels: 'role=worker', slots: 4 },
    ],
  });
});
afterAll(async () => {
  await fleet?.destroy();
});

function write(path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const idOf = (stderr: string): string => /job (\S+) submitted/.exec(stderr)![1]!;

describe.skipIf(!tools.ok)('pipelines', () => {
  it('site-lab: validate on alpha, the body on beta (handoff), cleanup always; workspace in, artifacts out, secrets pruned', async () => {
    const ws = join(fleet.dir, 'site');
    write(join(ws, 'validate.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: check the lab definition\n      command: test -f lab.txt\n    - name: stage a secret\n      copy: { dest: "{{ playbook_dir }}/secret.key", content: "s3cret" }\n`);
    write(join(ws, 'lab.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n${Array.from({ length: 3 }, (_, i) => `    - name: build step ${i + 1}\n      shell: mkdir -p out && echo "step ${i + 1} on $MESHRUN_NODE" >> out/result.txt\n`).join('')}    - name: keep a secret beside the run\n      copy: { dest: "{{ playbook_dir }}/secret.key", content: "s3cret" }\n`);
    write(join(ws, 'lab.txt'), 'lab definition\n');
    write(join(ws, '.gitignore'), 'local-only/\n');
    write(join(ws, 'local-only', 'notes.txt'), 'never shipped\n');
    const job = write(
      join(fleet.dir, 'site-lab.yaml'),
      `name: site-lab
prune: ['**/*.key']
stages:
  - name: validate
    on: { labels: { role: bastion } }
    run: { playbook: validate.yml }
  - name: lab
    on: { labels: { role: worker } }
    needs: [validate]
    run: { playbook: lab.yml }
    artifacts: ['out/**', '*.key']
  - name: cleanup
    on: { node: alpha }
    needs: [lab]
    always: true
    run: { command: [sh, -c, 'test ! -e local-only && echo "cleanup after $MESHRUN_STAGE on $MESHRUN_NODE"'] }
`,
    );
    const r = await fleet.cli(['submit', '--workspace', ws, '--follow', job]);
    expect(r.code, r.stderr + fleet.logs()).toBe(0);
    expect(r.stderr).toMatch(/==> stage validate on alpha[\s\S]*==> stage lab on beta[\s\S]*==> stage cleanup on alpha/);
    expect(r.stdout).toMatch(/TASK \[build step 3\]/);
    expect(r.stdout).toContain('cleanup after cleanup on alpha');
    const id = idOf(r.stderr);
    const j = JSON.parse((await fleet.cli(['job', id, '--json'])).stdout);
    expect(j.stages.map((s: { name: string; state: string; node: string }) => [s.name, s.state, s.node])).toEqual([
      ['validate', 'succeeded', 'alpha'],
      ['lab', 'succeeded', 'beta'],
      ['cleanup', 'succeeded', 'alpha'],
    ]);
    // the handoff is a first-class record and a marker in the earlier runner's directory
    expect(j.handoffs[0]).toMatchObject({ from: { stage: 'validate', node: 'alpha' }, to: { stage: 'lab', node: 'beta' } });
    const marker = join(fleet.agentDir('alpha'), 'runs', id, 'validate.1.remote.env');
    await waitFor('handoff marker', () => existsSync(marker));
    const env = readFileSync(marker, 'utf8');
    expect(env).toContain("MESHRUN_REMOTE_NODE='beta'");
    expect(env).toContain(`MESHRUN_REMOTE_RUN_DIR='${join(fleet.agentDir('beta'), 'runs', id)}'`);
    expect(env).toContain(`MESHRUN_REMOTE_LOG='${join(fleet.agentDir('beta'), 'runs', id, 'lab.1.log')}'`);
    expect(env).toMatch(/MESHRUN_REMOTE_JOB_ID='[^']+'\nMESHRUN_REMOTE_STAGE='lab'\nMESHRUN_REMOTE_ATTEMPT='1'/);
    const human = await fleet.cli(['job', id]);
    expect(human.stdout).toMatch(/authoritative node: alpha/);
    expect(human.stdout).toMatch(/validate on alpha -> lab on beta/);
    // structured events were kept beside the log
    expect(existsSync(join(fleet.agentDir('beta'), 'runs', id, 'lab.1.events.jsonl'))).toBe(true);
    // artifacts come back
    const out = join(fleet.dir, 'arts');
    const a = await fleet.cli(['artifacts', id, '-o', out]);
    expect(a.code, a.stderr).toBe(0);
    expect(readFileSync(join(out, 'lab', 'out', 'result.txt'), 'utf8')).toBe('step 1 on beta\nstep 2 on beta\nstep 3 on beta\n');
    // a pruned file is never packed, even when an artifact glob names it
    expect(existsSync(join(out, 'lab', 'secret.key'))).toBe(false);
    expect(j.stages[1].attempts[0].artifacts).toEqual(['out/result.txt']);
    // nor kept in the stored workspace: the job ended and no other job needs it
    const nc = await fleet.natsConnect();
    try {
      const os = await new Objm(nc).open('mr_blobs');
      await waitFor('pruned job\'s workspace removed', async () => {
        const info = await os.info(`ws-${j.workspace}`);
        return info === null || info.deleted;
      });
    } finally {
      await nc.close();
    }
    // secrets pruned from every node's run directories when the job ended
    // (the job's working directory on each node, shared by its runs there)
    const keyA = join(fleet.agentDir('alpha'), 'runs', id, 'work', 'secret.key');
    const keyB = join(fleet.agentDir('beta'), 'runs', id, 'work', 'secret.key');
    await waitFor('secrets pruned', () => !existsSync(keyA) && !existsSync(keyB), 15_000);
    expect(existsSync(join(fleet.agentDir('beta'), 'runs', id, 'work', 'lab.yml'))).toBe(true);
  });

  it('a workspace is unpacked once per node and job: later stages there start in the same tree', async () => {
    const ws = join(fleet.dir, 'shared-ws');
    write(join(ws, 'data.txt'), 'shipped\n');
    const job = write(
      join(fleet.dir, 'shared.yaml'),
      `name: shared-tree
stages:
  - name: setup
    on: { node: alpha }
    run: { command: [sh, -c, 'cat data.txt && echo prepared > made-by-setup'] }
  - name: run
    on: { node: alpha }
    needs: [setup]
    run: { command: [sh, -c, 'cat made-by-setup'] }
`,
    );
    const r = await fleet.cli(['submit', '--workspace', ws, '--follow', job]);
    expect(r.code, r.stderr + fleet.logs()).toBe(0);
    expect(r.stdout).toBe('shipped\nprepared\n');
    const id = idOf(r.stderr);
    const unpacked = fleet.agent('alpha').log().split('\n').filter((l) => l.includes('workspace unpacked') && l.includes(id));
    expect(unpacked).toHaveLength(1);
  });

  it('cleanup runs after a failed stage; the job fails with the failed stage\'s code; the failed host and message are shown', async () => {
    const ws = join(fleet.dir, 'failing');
    write(join(ws, 'setup.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: prepare\n      command: "true"\n    - name: break on purpose\n      shell: echo "disk full on /srv" >&2; exit 3\n`);
    const job = write(
      join(fleet.dir, 'failing.yaml'),
      `name: setup-run-cleanup
stages:
  - name: setup
    on: { node: beta }
    run: { playbook: setup.yml }
  - name: run
    on: { node: beta }
    run: { command: ['true'] }
  - name: cleanup
    on: { node: alpha }
    always: true
    run: { command: [echo, cleaned] }
`,
    );
    const r = await fleet.cli(['submit', '--workspace', ws, '--follow', job]);
    expect(r.code).toBe(2); // ansible-playbook exits 2 when a task failed
    const id = idOf(r.stderr);
    const j = JSON.parse((await fleet.cli(['job', id, '--json'])).stdout);
    expect(j.state).toBe('failed');
    expect(j.stages.map((s: { state: string }) => s.state)).toEqual(['failed', 'skipped', 'succeeded']);
    expect(j.stages[0].attempts[0].failures[0]).toMatchObject({ host: 'localhost', task: 'break on purpose' });
    expect(j.stages[0].attempts[0].failures[0].msg).toContain('disk full on /srv');
    const human = await fleet.cli(['job', id]);
    expect(human.stdout).toMatch(/localhost at task "break on purpose": .*disk full on \/srv/);
  });

  it('independent stages run in parallel; outputs flow to later stages', async () => {
    const job = write(
      join(fleet.dir, 'par.yaml'),
      `name: parallel
stages:
  - name: left
    on: { node: alpha }
    needs: []
    run: { command: [sh, -c, 'sleep 1.5; echo LEFT=from-left >> "$MESHRUN_OUTPUT"'] }
  - name: right
    on: { node: beta }
    needs: []
    run: { command: [sh, -c, 'sleep 1.5; echo "RIGHT=from right" >> "$MESHRUN_OUTPUT"'] }
  - name: join
    on: { node: alpha }
    needs: [left, right]
    run: { command: [sh, -c, 'echo "$LEFT + $RIGHT"'] }
`,
    );
    const r = await fleet.cli(['submit', '--follow', job]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('from-left + from right\n');
    const j = JSON.parse((await fleet.cli(['job', idOf(r.stderr), '--json'])).stdout);
    const [left, right] = [j.stages[0].attempts[0], j.stages[1].attempts[0]];
    // each started before the other ended: they really overlapped
    expect(left.startedAt).toBeLessThan(right.endedAt);
    expect(right.startedAt).toBeLessThan(left.endedAt);
  });

  it('cancel in the middle of a playbook: the playbook stops, cleanup still runs', async () => {
    const ws = join(fleet.dir, 'long');
    write(join(ws, 'long.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: quick\n      command: "true"\n    - name: long body\n      command: sleep 60\n`);
    const job = write(
      join(fleet.dir, 'long.yaml'),
      `name: cancel-me
stages:
  - name: body
    on: { node: beta }
    run: { playbook: long.yml }
  - name: cleanup
    on: { node: alpha }
    always: true
    run: { command: [echo, cleanup ran] }
`,
    );
    const sub = await fleet.cli(['submit', '--workspace', ws, '--id', 'cancel-pb', job]);
    expect(sub.code, sub.stderr).toBe(0);
    await waitFor('the long task to start', async () => {
      const r = await fleet.cli(['logs', 'cancel-pb']);
      return r.stdout.includes('TASK [long body]');
    }, 30_000, 300);
    expect((await fleet.cli(['cancel', 'cancel-pb'])).code).toBe(0);
    const j = await fleet.waitJob('cancel-pb', (x) => x.state === 'cancelled');
    expect(j.stages.map((s) => s.state)).toEqual(['cancelled', 'succeeded']);
    const logs = await fleet.cli(['logs', 'cancel-pb']);
    expect(logs.stdout).toContain('cleanup ran');
  });

  it('a 20-task playbook streams complete, ordered events through meshrun logs --json', async () => {
    const ws = join(fleet.dir, 'twenty');
    write(join(ws, 'twenty.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n${Array.from({ length: 20 }, (_, i) => `    - name: task ${i + 1}\n      command: "true"\n`).join('')}`);
    const r = await fleet.cli(['submit', '--workspace', ws, '--follow', '--json', write(join(fleet.dir, 'twenty.yaml'), `name: twenty\nstages:\n  - name: pb\n    on: { node: alpha }\n    run: { playbook: twenty.yml }\n`)]);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === 'event')
      .map((e) => e.event);
    const starts = events.filter((e) => e.type === 'task_start');
    expect(starts.map((e) => e.taskIndex)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(events.find((e) => e.type === 'play_start').taskCount).toBe(20);
    expect(events.filter((e) => e.type === 'host_result')).toHaveLength(20);
    expect(events[events.length - 1]).toMatchObject({ type: 'playbook_end', ok: true });
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  }, 120_000);

  it('a hostile workspace archive is refused and nothing is written outside the run directory', async () => {
    // a hand-made tar.gz with an entry that climbs out of the run directory
    const { gzipSync } = await import('node:zlib');
    const header = Buffer.alloc(512);
    header.write('../../escaped.txt', 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write('00000000006\0', 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const body = Buffer.alloc(512);
    body.write('pwned\n');
    const archive = gzipSync(Buffer.concat([header, body, Buffer.alloc(1024)]));
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(archive).digest('hex');
    const client = fleet.client();
    try {
      await client.putBlob(archive, sha);
      await client.submit('hostile-1', JSON.stringify({ name: 'hostile', stages: [{ name: 's', on: { node: 'alpha' }, run: { command: ['true'] } }] }), sha);
    } finally {
      client.close();
    }
    const j = await fleet.waitJob('hostile-1', (x) => x.state === 'failed');
    expect(j.stages[0]!.reason).toMatch(/\.\.\/\.\.\/escaped\.txt/);
    const runs = join(fleet.agentDir('alpha'), 'runs');
    expect(existsSync(join(runs, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(fleet.agentDir('alpha'), 'escaped.txt'))).toBe(false);
    // the refused archive left no working directory, nor a half-unpacked one
    expect(readdirSync(join(runs, 'hostile-1')).some((f) => f.startsWith('work'))).toBe(false);
  });

  it('rejects graphs with cycles, unknown needs and duplicate names, naming them', async () => {
    const bad = write(
      join(fleet.dir, 'cycle.yaml'),
      `name: bad\nstages:\n  - { name: a, on: { node: alpha }, needs: [b], run: { command: ['true'] } }\n  - { name: b, on: { node: alpha }, needs: [a], run: { command: ['true'] } }\n  - { name: c, on: { node: alpha }, needs: [zz], run: { command: ['true'] } }\n`,
    );
    const r = await fleet.cli(['submit', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stages\[2\]\.needs\[0\]: unknown stage "zz"/);
    expect(r.stderr).toMatch(/dependency cycle: a -> b -> a/);
  });
});
