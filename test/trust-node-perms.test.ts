// Nodes on their own credentials, against a secured fleet (trust root, nats-server enforcing it,
// coordinator and agents as real processes): a job's workspace comes in and its artifacts go out
// through the coordinator's blob service, and a hostile node holding a valid credential can
// neither read that job's workspace, nor store its artifacts, nor end it, nor write into its log.
import { natsTls } from '../lib/nats.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxRecord } from '../proto/bus.js';
import { nodeInboxPrefix } from '../proto/permissions.js';
import { Subjects } from '../proto/subjects.js';
import { issueNodeCreds } from '../lib/trust/local-trust.js';
import { requireTools } from './fleet/netns.js';
import { Fleet, waitFor } from './harness/processes.js';

const cap = requireTools(['nats-server']);
let fleet: Fleet;
let mallory: NatsConnection;

beforeAll(async () => {
  if (!cap.ok) return;
  fleet = await Fleet.start({ agents: [{ node: 'alpha' }, { node: 'beta' }] });
  // a node enrolled like any other, then turned hostile
  const creds = join(fleet.dir, 'creds', 'mallory.creds');
  await issueNodeCreds(fleet.trust.paths.dir, 'mallory', creds);
  mallory = await connect({
    servers: fleet.nats.url,
    authenticator: credsAuthenticator(readFileSync(creds)),
    tls: natsTls(fleet.nats.url, fleet.trust.paths.caCert),
    inboxPrefix: nodeInboxPrefix('mallory'),
    reconnect: false,
  });
});

afterAll(async () => {
  await mallory?.close().catch(() => undefined);
  await fleet?.destroy();
});

/** The server's verdict on a publish or subscribe: the permission error nats.js reports, if any. */
async function refused(nc: NatsConnection, act: () => void): Promise<string | undefined> {
  const seen: string[] = [];
  const watch = (async () => {
    for await (const s of nc.status()) if (s.type === 'error') seen.push(String((s as { error?: Error }).error?.message ?? s.type));
  })();
  act();
  await nc.flush();
  await new Promise((r) => setTimeout(r, 200));
  void watch;
  return seen.find((m) => /permission/i.test(m));
}

async function askAs(nc: NatsConnection, subject: string, body: unknown): Promise<Record<string, unknown>> {
  const m = await nc.request(subject, JSON.stringify(body), { timeout: 5000 });
  return JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
}

function write(path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe.skipIf(!cap.ok)(`nodes on their own credentials (${cap.reason})`, () => {
  it('a workspace job runs on a node credential: the agent reads it through the coordinator', async () => {
    const ws = join(fleet.dir, 'ws-plain');
    write(join(ws, 'file'), 'from the workspace\n');
    const r = await fleet.cli(['submit', '--on', 'beta', '--workspace', ws, '--id', 'plain-ws', '-f', '--', 'cat', 'file'], { timeoutMs: 30_000 });
    expect(r.code, `${r.stderr}\n${fleet.logs()}`).toBe(0);
    expect(r.stdout).toBe('from the workspace\n');
  });

  it('a hostile node cannot read the workspace of a running job, store its artifacts, end it or write its log; the job then ends with its own log and artifacts', async () => {
    const ws = join(fleet.dir, 'ws');
    write(join(ws, 'file.txt'), 'secret workspace\n');
    const gate = join(fleet.dir, 'gate');
    const job = write(
      join(fleet.dir, 'held.yaml'),
      `name: held
stages:
  - name: build
    on: { node: alpha }
    run: { command: [sh, -c, 'cat file.txt; mkdir -p out; cp file.txt out/copy.txt; while [ ! -e ${gate} ]; do sleep 0.1; done'] }
    artifacts: ['out/**']
`,
    );
    const sub = await fleet.cli(['submit', '--workspace', ws, '--id', 'held', job]);
    expect(sub.code, sub.stderr).toBe(0);
    const running = await fleet.waitJob('held', (j) => j.stages[0]!.state === 'running' && j.stages[0]!.attempts[0]?.state === 'running', 'build running');
    const workspace = (JSON.parse((await fleet.cli(['job', 'held', '--json'])).stdout) as { workspace: string }).workspace;
    expect(workspace).toMatch(/^[a-f0-9]{64}$/);
    const token = { job: 'held', stage: 'build', attempt: 1 };

    // the workspace: refused by the coordinator on mallory's own subject, by the server on alpha's
    const get = await askAs(mallory, Subjects.blobGet('mallory'), { token, workspace, offset: 0, length: 65536 });
    expect(get).toMatchObject({ ok: false, error: 'run held/build/1 is not held by node mallory' });
    expect(get).not.toHaveProperty('data');
    expect(await refused(mallory, () => mallory.publish(Subjects.blobGet('alpha'), JSON.stringify({ token, workspace, offset: 0, length: 65536 })))).toMatch(/permission/i);
    // its artifacts: refused
    const put = await askAs(mallory, Subjects.blobPut('mallory'), { op: 'begin', token, sha256: 'a'.repeat(64), size: 10 });
    expect(put).toMatchObject({ ok: false, error: 'run held/build/1 is not held by node mallory' });

    // forged ends: under its own name for alpha's attempt, and naming alpha on its own subject
    const exited = (node: string): OutboxRecord['event'] => ({
      kind: 'exited', node, token, exitCode: 0, signal: null, endedAt: Date.now(), logBytes: 0, eventsBytes: 0, stopReason: null,
      vanished: false, outputs: { FORGED: '1' }, artifacts: null, failures: [], error: null,
    });
    mallory.publish(Subjects.runEvents('mallory'), JSON.stringify({ id: 'mallory-1', seq: 1, event: exited('mallory') } satisfies OutboxRecord));
    mallory.publish(Subjects.runEvents('mallory'), JSON.stringify({ id: 'mallory-2', seq: 2, event: exited('alpha') } satisfies OutboxRecord));
    // a log chunk that would continue alpha's log: under alpha's name refused by the server,
    // under its own name ignored by followers
    const h = headers();
    h.set('Mr-Offset', String(Buffer.byteLength('secret workspace\n')));
    expect(await refused(mallory, () => mallory.publish(Subjects.log(token, 'alpha'), 'FORGED by mallory\n', { headers: h }))).toMatch(/permission/i);
    mallory.publish(Subjects.log(token, 'mallory'), 'FORGED by mallory\n', { headers: h });
    expect(await refused(mallory, () => mallory.subscribe(Subjects.jobOutput('held')))).toMatch(/permission/i);
    await mallory.flush();

    await waitFor('both forged events turned away', () => /event from a node that does not hold the attempt ignored/.test(fleet.coordinator.log()) && /run event naming another node than its subject dropped/.test(fleet.coordinator.log()), 15_000);
    expect(fleet.coordinator.log()).toMatch(/"error":"run held\/build\/1 is not held by node mallory","msg":"blob request refused"/);
    const still = await fleet.job('held');
    expect(still.state).toBe('running');
    expect(still.stages[0]!.attempts).toEqual([expect.objectContaining({ attempt: 1, node: 'alpha', state: 'running', exitCode: null })]);
    expect(running.stages[0]!.attempts).toHaveLength(1);

    // the real end: its own log and artifacts, nothing of mallory's
    writeFileSync(gate, '');
    const done = await fleet.waitJob('held', (j) => j.state === 'succeeded', 'succeeded');
    expect(done.stages[0]!.attempts[0]).toMatchObject({ node: 'alpha', exitCode: 0 });
    const logs = await fleet.cli(['logs', 'held']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('secret workspace\n');
    expect(logs.stdout).not.toContain('FORGED');
    const out = join(fleet.dir, 'arts');
    const a = await fleet.cli(['artifacts', 'held', '-o', out]);
    expect(a.code, a.stderr).toBe(0);
    expect(readFileSync(join(out, 'build', 'out', 'copy.txt'), 'utf8')).toBe('secret workspace\n');
    const final = JSON.parse((await fleet.cli(['job', 'held', '--json'])).stdout) as { stages: { attempts: { artifacts: string[] }[] }[] };
    expect(final.stages[0]!.attempts[0]!.artifacts).toEqual(['out/copy.txt']);
    // once ended, not even the node that ran it reads the workspace again; mallory still not
    expect(await askAs(mallory, Subjects.blobGet('mallory'), { token, workspace, offset: 0, length: 65536 })).toMatchObject({ ok: false });
    expect(fleet.agent('alpha').log()).not.toMatch(/Permissions Violation|permission/i);
  });
});
