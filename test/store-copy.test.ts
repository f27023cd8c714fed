// `meshrun store copy` on real processes: a secured fleet runs jobs (logs, an artifact, a
// workspace, a secret) on one nats-server; the coordinator and agents stop, the store is
// copied to a second, empty server with the same trust config, and the fleet starts there:
// old jobs are listed as they were, their logs and artifacts come back byte for byte, a job
// that ran across the move finishes (its next stage gets its secret), a new job runs. Then the
// same move again into a 3-server cluster with --replicas 3. Copies are refused while a
// coordinator runs against the source and when the target already holds state.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsTls } from '../lib/nats.js';
import { NatsServer } from '../lib/nats-server.js';
import { natsServerConfig } from '../lib/trust/nats-jwt.js';
import { loadNatsTrust } from '../lib/trust/trust-root.js';
import type { StoreCopyReport } from '../coordinator/store-copy.js';
import { requireTools } from './fleet/netns.js';
import { Fleet, freePort, waitFor, type JobJson } from './harness/processes.js';

const cap = requireTools(['nats-server']);
/** Extra trivial jobs run before the first copy, to measure the copy on a bigger store (MESHRUN_STORE_COPY_JOBS=3000). */
const BULK_JOBS = Number(process.env.MESHRUN_STORE_COPY_JOBS ?? 40);

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A nats-server config with the fleet's operator, accounts and TLS, its own port and store; a cluster member when `cluster` is given. */
function busConfig(fleet: Fleet, dir: string, port: number, cluster?: { name: string; server: string; port: number; routes: number[] }): string {
  const p = fleet.trust.paths;
  mkdirSync(join(dir, 'accounts'), { recursive: true });
  let conf = natsServerConfig(loadNatsTrust(p.dir), {
    port,
    storeDir: join(dir, 'store'),
    resolverDir: join(dir, 'accounts'),
    tls: { certFile: p.natsCert, keyFile: p.natsKey, caFile: p.caCert, verify: false },
  });
  if (cluster) {
    const routes = cluster.routes.map((r) => `"nats-route://127.0.0.1:${r}"`).join(', ');
    conf += `server_name: "${cluster.server}"\ncluster { name: "${cluster.name}", listen: "127.0.0.1:${cluster.port}", routes: [${routes}] }\n`;
  }
  const file = join(dir, 'nats.conf');
  writeFileSync(file, conf, { mode: 0o600 });
  return file;
}

async function emptyServer(fleet: Fleet, name: string): Promise<NatsServer> {
  const dir = join(fleet.dir, name);
  return NatsServer.start({ dir, config: busConfig(fleet, dir, await freePort()), keepStore: true });
}

/** Three servers in one cluster on loopback; resolves once its JetStream answers (a meta leader is elected). */
async function cluster(fleet: Fleet): Promise<NatsServer[]> {
  const client = [await freePort(), await freePort(), await freePort()];
  const routes = [await freePort(), await freePort(), await freePort()];
  const servers = await Promise.all(
    [0, 1, 2].map((i) => {
      const dir = join(fleet.dir, `cluster-${i}`);
      return NatsServer.start({ dir, config: busConfig(fleet, dir, client[i]!, { name: 'mr-test', server: `n${i}`, port: routes[i]!, routes: routes.filter((_, j) => j !== i) }), keepStore: true });
    }),
  );
  const urls = servers.map((s) => s.url).join(',');
  const p = fleet.trust.paths;
  const nc = await connect({ servers: urls.split(','), authenticator: credsAuthenticator(readFileSync(p.coordinatorCreds)), tls: natsTls(urls, p.caCert) });
  try {
    await waitFor('the cluster\'s JetStream', async () => (await (await jetstreamManager(nc)).getAccountInfo(), true), 30_000, 250);
  } finally {
    await nc.close();
  }
  return servers;
}

function copyArgs(fleet: Fleet, from: string, to: string, ...extra: string[]): string[] {
  return ['store', 'copy', '--from', from, '--to', to, '--trust-dir', fleet.trust.paths.dir, ...extra];
}

/** Every file under `dir` with its content's hash. */
function tree(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) Object.assign(out, tree(p, base));
    else out[p.slice(base.length + 1)] = sha256(readFileSync(p));
  }
  return out;
}

describe.skipIf(!cap.ok)(`meshrun store copy (${cap.reason})`, () => {
  let fleet: Fleet;
  const servers: NatsServer[] = [];
  const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
  /** What the CLI showed of the old jobs before the move. */
  let before: { jobs: Map<string, JobJson>; log: string; artifacts: Record<string, string> };

  beforeAll(async () => {
    fleet = await Fleet.start({ agents: [{ node: 'alpha', slots: 4 }, { node: 'beta', slots: 4 }], coordinatorArgs: ['--retain-jobs', '100000'] });
    servers.push(fleet.nats);
  }, 120_000);

  afterAll(async () => {
    await fleet?.destroy();
    for (const s of servers) await s.stop('SIGKILL').catch(() => undefined);
  });

  it('runs jobs on the first server: logs, a workspace, an artifact, a failure, a job that waits with a secret for its next stage', async () => {
    const logJob = await fleet.cli(['submit', '--id', 'old-log', '--on', 'alpha', '--follow', '--', 'sh', '-c', 'for i in $(seq 1 2000); do echo "line $i of the old log"; done; printf "\\033[1mbold\\033[0m and a tab\\there\\n"']);
    expect(logJob.code, logJob.stderr).toBe(0);
    const failJob = await fleet.cli(['submit', '--id', 'old-fail', '--on', 'beta', '--follow', '--', 'sh', '-c', 'echo failing; exit 3']);
    expect(failJob.code).toBe(3);

    const ws = join(fleet.dir, 'ws');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, 'input.txt'), 'workspace input\n');
    const artFile = join(fleet.dir, 'art.json');
    writeFileSync(artFile, JSON.stringify({ name: 'old-art', stages: [{ name: 'build', on: { node: 'beta' }, run: { command: ['sh', '-c', 'mkdir -p out && head -c 300000 /dev/urandom > out/random.bin && cp input.txt out/'] }, artifacts: ['out/**'] }] }));
    const artJob = await fleet.cli(['submit', '--id', 'old-art', '--workspace', ws, '--follow', artFile]);
    expect(artJob.code, artJob.stderr).toBe(0);

    // runs across the move: its first stage waits for a file; the next one needs the secret
    const crossFile = join(fleet.dir, 'cross.yaml');
    writeFileSync(
      crossFile,
      [
        'name: across-the-move',
        'secrets: { TOKEN: { env: MY_TOKEN } }',
        'stages:',
        '  - name: wait',
        '    on: { node: alpha }',
        `    run: { command: [sh, -c, 'echo waiting; while [ ! -e ${join(fleet.dir, 'release')} ]; do sleep 0.1; done; echo released'] }`,
        '  - name: use',
        '    on: { node: beta }',
        '    secrets: [TOKEN]',
        `    run: { command: [sh, -c, '[ "$(printf %s "$TOKEN" | sha256sum | cut -c1-64)" = "${sha256(secret)}" ] && echo token-ok'] }`,
        '',
      ].join('\n'),
    );
    const cross = await fleet.cli(['submit', '--id', 'old-cross', crossFile], { env: { MY_TOKEN: secret } });
    expect(cross.code, cross.stderr).toBe(0);
    await fleet.waitJob('old-cross', (j) => j.stages[0]!.state === 'running');
    await waitFor('the waiting stage logged', async () => (await fleet.cli(['logs', 'old-cross'])).stdout.includes('waiting'), 20_000);

    // a bigger store to copy: trivial jobs through one in-process client
    const client = fleet.client();
    const t0 = Date.now();
    try {
      const spec = (node: string): string => JSON.stringify({ name: 'bulk', stages: [{ name: 'run', on: { node }, run: { command: ['sh', '-c', 'i=0; while [ $i -lt 20 ]; do echo "bulk output line $i"; i=$((i+1)); done'] } }] });
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < BULK_JOBS) {
            const i = next++;
            await client.submit(`bulk-${i}`, spec(i % 2 ? 'alpha' : 'beta'));
          }
        }),
      );
      console.info(`store copy: ${BULK_JOBS} bulk jobs submitted in ${Date.now() - t0} ms`);
      await waitFor('bulk jobs ended', async () => (await client.listJobs()).filter((j) => j.id.startsWith('bulk-') && j.state === 'succeeded').length === BULK_JOBS, 60_000 + BULK_JOBS * 400, 500);
      console.info(`store copy: ${BULK_JOBS} bulk jobs submitted and run in ${Date.now() - t0} ms`);
    } finally {
      client.close();
    }

    const list = await fleet.cli(['jobs', '--json', '--limit', '0']);
    expect(list.code, list.stderr).toBe(0);
    const jobs = new Map((JSON.parse(list.stdout) as JobJson[]).map((j) => [j.id, j]));
    expect(jobs.get('old-fail')?.state).toBe('failed');
    const log = await fleet.cli(['logs', 'old-log']);
    expect(log.stdout).toContain('line 2000 of the old log');
    const arts = join(fleet.dir, 'arts-before');
    const a = await fleet.cli(['artifacts', 'old-art', '-o', arts]);
    expect(a.code, a.stderr).toBe(0);
    before = { jobs, log: log.stdout, artifacts: tree(arts) };
    expect(Object.keys(before.artifacts).sort()).toEqual(['build/out/input.txt', 'build/out/random.bin']);
  }, 240_000 + BULK_JOBS * 500);

  it('refuses to copy while a coordinator runs against the source, and names it', async () => {
    const target = await emptyServer(fleet, 'refused-target');
    servers.push(target);
    const r = await fleet.cli(copyArgs(fleet, fleet.nats.url, target.url));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a coordinator is running against the source .*renews the leader lease.*stop the coordinators/);
    expect(r.stderr).toContain(fleet.coordinatorAddress);
    // nothing was made on the target
    const nc = await connect({ servers: target.url, authenticator: credsAuthenticator(readFileSync(fleet.trust.paths.coordinatorCreds)), tls: natsTls(target.url, fleet.trust.paths.caCert) });
    const names: string[] = [];
    for await (const n of (await jetstreamManager(nc)).streams.names()) names.push(n);
    await nc.close();
    expect(names).toEqual([]);
    // and bad flags are usage errors that name the flag
    const bad = await fleet.cli(['store', 'copy', '--from', fleet.nats.url, '--to', target.url, '--replicas', 'three']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--replicas three: expected a whole number/);
    const missing = await fleet.cli(['store', 'copy', '--to', target.url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/needs --from/);
  }, 60_000);

  it('copies the store to an empty server: old jobs, logs and artifacts are the same there, the moved job finishes with its secret, a new job runs', async () => {
    // the procedure: stop the coordinator and the agents (runs go on), copy, start them on the new server
    await fleet.coordinator.kill('SIGTERM');
    for (const a of fleet.agents.values()) await a.kill('SIGTERM');
    const target = await emptyServer(fleet, 'second');
    servers.push(target);

    const t0 = Date.now();
    const r = await fleet.cli(copyArgs(fleet, fleet.nats.url, target.url, '--json'), { timeoutMs: 600_000 });
    const wall = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as StoreCopyReport;
    expect(report.verification.ok, JSON.stringify(report.verification)).toBe(true);
    const stream = (name: string) => report.streams.find((s) => s.stream === name)!;
    expect(stream('MR_LOGS').messages).toBeGreaterThan(0);
    expect(stream('KV_mr_jobs').messages).toBeGreaterThanOrEqual(BULK_JOBS + 4);
    expect(stream('OBJ_mr_blobs').messages).toBeGreaterThan(0);
    expect(stream('KV_mr_secrets').messages).toBeGreaterThan(0); // the waiting job's secret
    expect(stream('KV_mr_leader')).toMatchObject({ outcome: 'created', messages: 0 });
    // the events the coordinator applied stay behind (all of them, unless it stopped amid some)
    expect(stream('MR_EVENTS').skipped).toBeGreaterThan(0);
    expect(stream('MR_EVENTS').skippedWhy).toMatch(/run events the coordinator applied \(up to sequence \d+\)/);
    const t = report.totals;
    console.info(`store copy: ${t.messages} messages, ${(t.bytes / 1024 / 1024).toFixed(1)} MiB in ${t.ms} ms (${t.messagesPerSecond} messages/s, ${(t.bytesPerSecond / 1024 / 1024).toFixed(1)} MiB/s); the whole command ${wall} ms; ${BULK_JOBS + 4} jobs`);

    // the text output names every stream, and a second copy into the same target is refused
    const again = await fleet.cli(copyArgs(fleet, fleet.nats.url, target.url));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/the target .* already holds meshrun state: .*KV_mr_jobs \(\d+ messages\).*--force/);
    // --force replaces what the target holds: the same copy again
    const forced = await fleet.cli(copyArgs(fleet, fleet.nats.url, target.url, '--force', '--json'), { timeoutMs: 600_000 });
    expect(forced.code, forced.stderr).toBe(0);
    const second = JSON.parse(forced.stdout) as StoreCopyReport;
    expect(second.verification.ok, JSON.stringify(second.verification)).toBe(true);
    expect(second.streams.map((s) => [s.stream, s.messages])).toEqual(report.streams.map((s) => [s.stream, s.messages]));

    // the old server goes away for good: nothing may need it any more
    const old = fleet.nats;
    fleet.nats = target;
    await old.stop('SIGKILL');
    writeFileSync(join(fleet.dir, 'release'), '');
    await fleet.startCoordinator();
    for (const node of ['alpha', 'beta']) await fleet.startAgent({ node, slots: 4 });
    await fleet.waitNodesReady(['alpha', 'beta']);

    const list = await fleet.cli(['jobs', '--json', '--limit', '0']);
    expect(list.code, list.stderr).toBe(0);
    const after = new Map((JSON.parse(list.stdout) as JobJson[]).map((j) => [j.id, j]));
    expect([...after.keys()].sort()).toEqual([...before.jobs.keys()].sort());
    for (const [id, j] of before.jobs) if (id !== 'old-cross') expect(after.get(id), id).toEqual(j);

    const log = await fleet.cli(['logs', 'old-log']);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toBe(before.log);
    const arts = join(fleet.dir, 'arts-after');
    const a = await fleet.cli(['artifacts', 'old-art', '-o', arts]);
    expect(a.code, a.stderr).toBe(0);
    expect(tree(arts)).toEqual(before.artifacts);

    const cross = await fleet.waitJob('old-cross', (j) => j.state !== 'running' && j.state !== 'queued', 'ended after the move', 60_000);
    expect(cross.state, fleet.logs()).toBe('succeeded');
    const crossLog = (await fleet.cli(['logs', 'old-cross'])).stdout;
    expect(crossLog).toMatch(/waiting[\s\S]*released[\s\S]*token-ok/);

    const fresh = await fleet.cli(['submit', '--id', 'after-move', '--on', 'beta', '--follow', '--', 'sh', '-c', 'echo on the new bus']);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toContain('on the new bus');
  }, 300_000 + BULK_JOBS * 20);

  it('moves the fleet again, into a 3-server cluster with --replicas 3', async () => {
    const jobsBefore = (await fleet.cli(['jobs', '--json', '--limit', '0'])).stdout;
    // killed this time: its lease is left behind, not released
    await fleet.coordinator.kill('SIGKILL');
    for (const a of fleet.agents.values()) await a.kill('SIGTERM');
    const members = await cluster(fleet);
    servers.push(...members);
    const urls = members.map((s) => s.url).join(',');

    const r = await fleet.cli(copyArgs(fleet, fleet.nats.url, urls, '--replicas', '3'), { timeoutMs: 600_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^KV_mr_jobs +\d+ messages/m);
    expect(r.stdout).toMatch(/verified: message counts equal on both sides/);
    expect(r.stdout).toMatch(/the source's leader lease: lapsed: the last holder, .* is gone \(no process \d+ on this machine\)/);
    console.info(`store copy into a cluster:\n${r.stdout}`);

    // every stream has three replicas, one on each server
    const nc = await connect({ servers: urls.split(','), authenticator: credsAuthenticator(readFileSync(fleet.trust.paths.coordinatorCreds)), tls: natsTls(urls, fleet.trust.paths.caCert) });
    try {
      const jsm = await jetstreamManager(nc);
      for await (const si of jsm.streams.list()) {
        expect(si.config.num_replicas, si.config.name).toBe(3);
        expect(si.cluster?.replicas?.length, si.config.name).toBe(2);
        // no consumer is left behind: the coordinator makes its own
        expect(si.state.consumer_count, si.config.name).toBe(0);
      }
    } finally {
      await nc.close();
    }

    fleet.busUrls = urls;
    await fleet.startCoordinator();
    for (const node of ['alpha', 'beta']) await fleet.startAgent({ node, slots: 4 });
    await fleet.waitNodesReady(['alpha', 'beta']);
    const jobsAfter = await fleet.cli(['jobs', '--json', '--limit', '0']);
    expect(JSON.parse(jobsAfter.stdout)).toEqual(JSON.parse(jobsBefore));
    const log = await fleet.cli(['logs', 'old-log']);
    expect(log.stdout).toBe(before.log);
    const fresh = await fleet.cli(['submit', '--id', 'on-the-cluster', '--on', 'alpha', '--follow', '--', 'sh', '-c', 'echo on three servers']);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toContain('on three servers');
  }, 300_000);
});
