// Job secrets against a real secured fleet: a value read from the submitter's environment
// reaches the run that names it (command env, playbook var) and nothing else: not one stored
// or streamed byte on the bus (every stream: KV, events, logs, audit, object store), not the
// daemons' logs, runner files, argv of any process, `job --json`; the stored (encrypted) copy is
// gone once the job ends; another node cannot ask for it. A run that prints it (its log, its
// outputs, a playbook's failed task) shows *** instead.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createCurve } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsTls } from '../lib/nats.js';
import { nodeInboxPrefix } from '../proto/permissions.js';
import { Subjects } from '../proto/subjects.js';
import { requireTools } from './fleet/netns.js';
import { Fleet, waitFor } from './harness/processes.js';

const cap = requireTools(['nats-server', 'ansible-playbook']);

/** Every byte of every message of every stream (KV buckets, object store, events, logs, audit). */
async function busBytes(nc: NatsConnection): Promise<Buffer> {
  const jsm = await jetstreamManager(nc);
  const parts: Buffer[] = [];
  for await (const si of jsm.streams.list()) {
    for (let seq = si.state.first_seq; si.state.messages > 0 && seq <= si.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(si.config.name, { seq }).catch(() => null);
      if (m) parts.push(Buffer.from(m.subject), Buffer.from(m.data));
    }
  }
  return Buffer.concat(parts);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function argvOfAllProcesses(): string {
  let all = '';
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      all += readFileSync(`/proc/${pid}/cmdline`, 'utf8') + '\n';
    } catch {
      // gone meanwhile
    }
  }
  return all;
}

describe.skipIf(!cap.ok)(`job secrets (${cap.reason})`, () => {
  let fleet: Fleet;
  const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }, { node: 'beta' }] });
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  it('reaches only the runs that name it, and appears nowhere else', async () => {
    const ws = join(fleet.dir, 'ws');
    mkdirSync(ws);
    // the playbook proves it got the value by writing its hash (an artifact must not hold the value)
    writeFileSync(join(ws, 'site.yml'), ['- hosts: all', '  gather_facts: false', '  tasks:', '    - copy: { content: "{{ TOKEN | hash(\'sha256\') }}", dest: "{{ playbook_dir }}/got-token" }', '      no_log: true', ''].join('\n'));
    const jobFile = join(fleet.dir, 'job.yaml');
    const argvSeen = join(fleet.dir, 'argv-checked');
    writeFileSync(
      jobFile,
      [
        'name: with-secrets',
        'secrets:',
        '  TOKEN: { env: MY_TOKEN }',
        'stages:',
        '  - name: use',
        '    on: { node: alpha }',
        '    secrets: [TOKEN]',
        // the run checks its value without printing it, and waits so the test can scan argv meanwhile
        `    run: { command: [sh, -c, '[ "$(printf %s "$TOKEN" | sha256sum | cut -c1-64)" = "$WANT_HASH" ] && echo token-ok; while [ ! -e ${argvSeen} ]; do sleep 0.1; done'] }`,
        `    env: { WANT_HASH: ${sha256(secret)} }`,
        '  - name: without',
        '    on: { node: beta }',
        '    run: { command: [sh, -c, \'echo "token=[${TOKEN:-}]"\'] }',
        '  - name: playbook',
        '    on: { node: beta }',
        '    secrets: [TOKEN]',
        '    run: { playbook: site.yml }',
        '    artifacts: [got-token]',
        // prints it: whole, a prefix (not masked, and not held back forever), split across two
        // writes, on stderr, and as an output that the next stage gets
        '  - name: prints',
        '    on: { node: alpha }',
        '    secrets: [TOKEN]',
        `    run: { command: [sh, -c, '${[
          'echo "token=$TOKEN"',
          'printf %s "$TOKEN" | head -c 5; echo " is a prefix"',
          'printf "split:%s" "$(printf %s "$TOKEN" | head -c 9)"; sleep 0.3; printf "%s:split\\n" "$(printf %s "$TOKEN" | tail -c +10)"',
          'echo "err=$TOKEN" >&2',
          'echo "OUT=$TOKEN" >> "$MESHRUN_OUTPUT"',
        ].join('; ')}'] }`,
        '  - name: after',
        '    on: { node: beta }',
        '    run: { command: [sh, -c, \'echo "got=[$OUT]"\'] }',
        '',
      ].join('\n'),
    );
    // a failed playbook task whose message holds the value: its log and the job's failures
    writeFileSync(join(ws, 'fail.yml'), ['- hosts: all', '  gather_facts: false', '  tasks:', '    - debug: { msg: "debug {{ TOKEN }}" }', '    - fail: { msg: "bad token {{ TOKEN }}" }', ''].join('\n'));
    const failFile = join(fleet.dir, 'fail.yaml');
    writeFileSync(failFile, ['name: fails-with-secret', 'secrets: { TOKEN: { env: MY_TOKEN } }', 'stages:', '  - name: pb', '    on: { node: beta }', '    secrets: [TOKEN]', '    run: { playbook: fail.yml }', ''].join('\n'));
    const sub = await fleet.cli(['submit', jobFile, '--id', 'sec-1', '--workspace', ws], { env: { MY_TOKEN: secret } });
    expect(sub.code, sub.stderr).toBe(0);
    const subFail = await fleet.cli(['submit', failFile, '--id', 'sec-4', '--workspace', ws], { env: { MY_TOKEN: secret } });
    expect(subFail.code, subFail.stderr).toBe(0);
    await fleet.waitJob('sec-1', (j) => j.stages[0]!.state === 'running');
    await waitFor('the run checked its token', async () => (await fleet.cli(['logs', 'sec-1'])).stdout.includes('token-ok'), 20_000);
    expect(argvOfAllProcesses(), 'no process has the secret in its argv').not.toContain(secret);
    const nc = await fleet.natsConnect();
    try {
      expect((await busBytes(nc)).includes(secret), 'no stream holds the secret while the job runs').toBe(false);
      writeFileSync(argvSeen, '');
      const done = await fleet.waitJob('sec-1', (j) => j.state !== 'running' && j.state !== 'queued', 'ended', 90_000);
      expect(done.state, fleet.logs()).toBe('succeeded');
      const logs = (await fleet.cli(['logs', 'sec-1'])).stdout;
      expect(logs).toContain('token=[]');
      for (const line of ['token=***', `${secret.slice(0, 5)} is a prefix`, 'split:***:split', 'err=***', 'got=[***]']) expect(logs).toContain(line);
      const failed = await fleet.waitJob('sec-4', (j) => j.state !== 'running' && j.state !== 'queued', 'ended', 90_000);
      expect(failed.state).toBe('failed');
      const failLogs = (await fleet.cli(['logs', 'sec-4'])).stdout;
      expect(failLogs).toContain('debug ***');
      expect(failLogs).toContain('bad token ***');
      const failJson = JSON.parse((await fleet.cli(['job', 'sec-4', '--json'])).stdout) as { stages: { attempts: { failures: { msg: string }[] }[] }[] };
      expect(failJson.stages[0]!.attempts[0]!.failures[0]!.msg).toContain('bad token ***');
      await waitFor('the failed job\'s encrypted secrets removed', async () => (await (await new Kvm(nc).open('mr_secrets')).get('sec-4'))?.operation !== 'PUT', 10_000);
      const out = join(fleet.dir, 'arts');
      expect((await fleet.cli(['artifacts', 'sec-1', '-o', out])).code).toBe(0);
      expect(readFileSync(join(out, 'playbook', 'got-token'), 'utf8'), 'the playbook got it as a var').toBe(sha256(secret));
      const stored = await new Kvm(nc).open('mr_secrets');
      await waitFor('the job\'s encrypted secrets removed', async () => (await stored.get('sec-1'))?.operation !== 'PUT', 10_000);
      expect((await busBytes(nc)).includes(secret), 'no stream holds the secret after the job').toBe(false);
    } finally {
      await nc.close();
    }
    // daemon logs, runner files (.json, .log, vars files), agents' state, the trust root, the nats store
    for (const f of filesUnder(fleet.dir).filter((f) => statSync(f).size < 50_000_000)) {
      expect(readFileSync(f).includes(secret), `${f} holds the secret`).toBe(false);
    }
    for (const id of ['sec-1', 'sec-4']) {
      const json = await fleet.cli(['job', id, '--json']);
      expect(json.stdout).not.toContain(secret);
    }
  });

  it('is refused to another node, and a job without its value is refused at submit', async () => {
    const jobFile = join(fleet.dir, 'job2.yaml');
    const gate = join(fleet.dir, 'gate2');
    writeFileSync(jobFile, ['name: s2', 'secrets: { K: { env: K_VALUE } }', 'stages:', '  - name: a', '    on: { node: alpha }', '    secrets: [K]', `    run: { command: [sh, -c, 'while [ ! -e ${gate} ]; do sleep 0.1; done'] }`, ''].join('\n'));
    const ok = await fleet.cli(['submit', jobFile, '--id', 'sec-2'], { env: { K_VALUE: 'v' } });
    expect(ok.code, ok.stderr).toBe(0);
    const unset = await fleet.cli(['submit', jobFile, '--id', 'sec-3']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/secret K: environment variable K_VALUE is not set/);
    await fleet.waitJob('sec-2', (j) => j.stages[0]!.state === 'running');
    // beta asks for alpha's run: refused by the coordinator (beta does not hold it)
    const creds = join(fleet.dir, 'creds', 'beta.creds');
    const beta = await connect({ servers: fleet.nats.url, authenticator: credsAuthenticator(readFileSync(creds)), tls: natsTls(fleet.nats.url, fleet.trust.paths.caCert), inboxPrefix: nodeInboxPrefix('beta'), reconnect: false });
    try {
      const box = createCurve();
      const r = await beta.request(Subjects.secretGet('beta'), JSON.stringify({ token: { job: 'sec-2', stage: 'a', attempt: 1 }, box: box.getPublicKey() }), { timeout: 5000 });
      expect(JSON.parse(r.string())).toMatchObject({ ok: false, error: expect.stringMatching(/not held by node beta/) });
      // and it cannot ask on alpha's subject at all: the server refuses the publish
      await expect(beta.request(Subjects.secretGet('alpha'), '{}', { timeout: 2000 })).rejects.toThrow();
    } finally {
      await beta.close().catch(() => undefined);
    }
    expect(fleet.coordinator.log()).toMatch(/secret request refused/);
    writeFileSync(gate, '');
    await fleet.waitJob('sec-2', (j) => j.state === 'succeeded');
  });
});

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
