// Prometheus metrics against real processes: a secured fleet whose coordinator serves
// --metrics-listen is scraped over HTTPS with a fleet user's client certificate, as Prometheus
// would; the counters follow the jobs that ran, the gauges the nodes and the lead; a scraper
// without a certificate, with a removed user's, or over plain HTTP gets nothing. A frozen node's
// work fails over and the failover and the fencing of its run are counted.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet, freePort, waitFor } from './harness/processes.js';

let fleet: Fleet | undefined;
let frozen: string | undefined;
afterEach(async () => {
  if (frozen) fleet?.agent(frozen).signal('SIGCONT');
  frozen = undefined;
  await fleet?.destroy();
  fleet = undefined;
});

interface Credential {
  ca: string;
  cert?: string;
  key?: string;
}

/** A client config's credential (as meshrun init and user add write them: inline PEM). */
function credentialOf(configFile: string): Credential {
  const cfg = parse(readFileSync(configFile, 'utf8')) as { currentContext: string; contexts: Record<string, Credential> };
  const c = cfg.contexts[cfg.currentContext]!;
  return { ca: c.ca, cert: c.cert, key: c.key };
}

/** GET https://127.0.0.1:port/path with `cred`: the status and body, or the connection's error. */
function scrape(port: number, cred: Credential, path = '/metrics'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca: cred.ca, cert: cred.cert, key: cred.key, servername: 'localhost', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** The value of one sample (`name{labels}` exactly as exposed, labels in the order prom-client writes them). */
function sample(body: string, series: string): number | undefined {
  for (const line of body.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function metricsPort(f: Fleet): Promise<number> {
  return waitFor('coordinator.json with the metrics port', () => {
    try {
      return (JSON.parse(readFileSync(join(f.dir, 'coordinator', 'coordinator.json'), 'utf8')) as { metricsPort?: number }).metricsPort;
    } catch {
      return undefined;
    }
  });
}

describe('prometheus metrics', () => {
  it('counts jobs and attempts, shows nodes, the lead and agents\' outboxes; only a registered fleet user may scrape', async () => {
    const port = await freePort();
    fleet = await Fleet.start({ agents: [{ node: 'alpha' }], coordinatorArgs: ['--metrics-listen', `127.0.0.1:${port}`] });
    const f = fleet;
    expect(await metricsPort(f)).toBe(port);
    const admin = credentialOf(f.trust.paths.adminConfig);

    for (const [id, code] of [['ok-1', 0], ['ok-2', 0], ['bad-1', 3]] as const) {
      const r = await f.cli(['submit', '--id', id, '--on', 'alpha', '--', 'sh', '-c', `exit ${code}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const id of ['ok-1', 'ok-2', 'bad-1']) await f.waitJob(id, (j) => j.state === 'succeeded' || j.state === 'failed');

    // the counters are fed by persisted records: wait for the last write to be seen
    const body = await waitFor('jobs counted', async () => {
      const r = await scrape(port, admin);
      return r.status === 200 && sample(r.body, 'meshrun_jobs_total{state="failed"}') === 1 ? r.body : undefined;
    });
    expect(sample(body, 'meshrun_jobs_total{state="succeeded"}')).toBe(2);
    expect(sample(body, 'meshrun_jobs_total{state="cancelled"}'), 'every outcome is exposed, at 0 until it happens').toBe(0);
    expect(sample(body, 'meshrun_stages_total{state="succeeded"}')).toBe(2);
    expect(sample(body, 'meshrun_stages_total{state="failed"}')).toBe(1);
    expect(sample(body, 'meshrun_attempts_total{outcome="succeeded"}')).toBe(2);
    expect(sample(body, 'meshrun_attempts_total{outcome="failed"}')).toBe(1);
    expect(sample(body, 'meshrun_dispatch_latency_seconds_count')).toBe(3);
    expect(sample(body, 'meshrun_job_start_latency_seconds_count')).toBe(3);
    expect(sample(body, 'meshrun_stage_duration_seconds_count{outcome="succeeded"}')).toBe(2);
    expect(sample(body, 'meshrun_stage_duration_seconds_count{outcome="failed"}')).toBe(1);
    expect(sample(body, 'meshrun_failovers_total{outcome="reassigned"}')).toBe(0);
    expect(sample(body, 'meshrun_jobs{state="running"}')).toBe(0);
    expect(sample(body, 'meshrun_jobs{state="queued"}')).toBe(0);
    expect(sample(body, 'meshrun_nodes{state="ready"}')).toBe(1);
    expect(sample(body, 'meshrun_nodes{state="down"}')).toBe(0);
    expect(sample(body, 'meshrun_node_up{node="alpha"}')).toBe(1);
    expect(sample(body, 'meshrun_leader')).toBe(1);
    expect(sample(body, 'meshrun_leader_changes_total')).toBe(0);
    // carried in the heartbeat: the one after the last event was relayed reports an empty outbox
    // (the last one before it may still have counted that event)
    const relayed = await waitFor('an empty outbox reported', async () => {
      const r = await scrape(port, admin);
      return r.status === 200 && sample(r.body, 'meshrun_agent_outbox_events{node="alpha"}') === 0 ? r.body : undefined;
    });
    expect(sample(relayed, 'meshrun_agent_relay_lag_seconds{node="alpha"}')).toBe(0);
    expect(sample(body, 'meshrun_mesh_edges{health="ok"}'), 'no mesh in this fleet').toBe(0);
    expect(sample(body, 'process_cpu_user_seconds_total'), 'the default process metrics').toBeGreaterThan(0);
    // every meshrun metric says what it is; no job id ever becomes a label
    const names = new Set([...body.matchAll(/^# TYPE (meshrun_\S+)/gm)].map((m) => m[1]!));
    expect(names.size).toBeGreaterThan(15);
    for (const n of names) expect(body, n).toMatch(new RegExp(`^# HELP ${n} \\S`, 'm'));
    for (const id of ['ok-1', 'ok-2', 'bad-1']) expect(body).not.toContain(id);

    // a running job shows in the gauges while it runs
    expect((await f.cli(['submit', '--id', 'long-1', '--on', 'alpha', '--', 'sleep', '30'])).code).toBe(0);
    await f.waitJob('long-1', (j) => j.state === 'running');
    const running = (await scrape(port, admin)).body;
    expect(sample(running, 'meshrun_jobs{state="running"}')).toBe(1);
    expect(sample(running, 'meshrun_stages{state="running"}')).toBe(1);
    expect(sample(running, 'meshrun_node_running{node="alpha"}')).toBe(1);
    expect((await f.cli(['cancel', 'long-1'])).code).toBe(0);
    await waitFor('the cancel counted', async () => sample((await scrape(port, admin)).body, 'meshrun_jobs_total{state="cancelled"}') === 1);

    // a viewer made for the scraper may scrape; once removed, its certificate is refused
    const scraperCfg = join(f.dir, 'prometheus.meshrun.yaml');
    const add = await f.cli(['user', 'add', 'prometheus', '--role', 'viewer', '-o', scraperCfg]);
    expect(add.code, add.stderr).toBe(0);
    const scraper = credentialOf(scraperCfg);
    expect((await waitFor('the new viewer to scrape', async () => ((await scrape(port, scraper)).status === 200 ? true : undefined))) === true).toBe(true);
    expect((await f.cli(['user', 'remove', 'prometheus'])).code).toBe(0);
    const removed = await waitFor('the removed user refused', async () => {
      const r = await scrape(port, scraper);
      return r.status === 401 ? r : undefined;
    });
    expect(removed.body).toMatch(/not registered to an active user/);
    expect(removed.body).not.toContain('meshrun_');

    // no client certificate: the TLS handshake itself fails, nothing is served
    await expect(scrape(port, { ca: admin.ca })).rejects.toThrow();
    // plain HTTP to the TLS port: nothing either
    const plain = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', (err) => resolve(`error: ${err.message}`));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(plain).not.toContain('meshrun_');
    // another path is not served
    expect((await scrape(port, admin, '/')).status).toBe(404);
    expect(f.coordinator.log()).toMatch(/"msg":"metrics scrape refused"/);
  });

  it('counts a failover and the fencing of the superseded run', async () => {
    const port = await freePort();
    fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'role=w' }, { node: 'beta', labels: 'role=w' }], coordinatorArgs: ['--metrics-listen', `127.0.0.1:${port}`] });
    const f = fleet;
    await metricsPort(f);
    const admin = credentialOf(f.trust.paths.adminConfig);
    // the first attempt runs long (it is fenced); the one it fails over to ends at once
    const r = await f.cli(['submit', '--id', 'fo-1', '--label', 'role=w', '--', 'sh', '-c', 'if [ "$MESHRUN_ATTEMPT" = 1 ]; then sleep 120; fi']);
    expect(r.code, r.stderr).toBe(0);
    const first = await f.waitJob('fo-1', (j) => j.state === 'running');
    const node = first.stages[0]!.node!;
    f.agent(node).signal('SIGSTOP');
    frozen = node;
    await f.waitJob('fo-1', (j) => j.state === 'succeeded', 'failed over and succeeded', 60_000);
    const body = await waitFor('the failover counted', async () => {
      const b = (await scrape(port, admin)).body;
      return sample(b, 'meshrun_jobs_total{state="succeeded"}') === 1 ? b : undefined;
    });
    expect(sample(body, 'meshrun_failovers_total{outcome="reassigned"}')).toBe(1);
    expect(sample(body, 'meshrun_attempts_total{outcome="stale"}')).toBe(1);
    expect(sample(body, `meshrun_node_up{node="${node}"}`)).toBe(0);
    expect(sample(body, 'meshrun_nodes{state="down"}')).toBe(1);
    // back: its run was superseded; the agent fences it (its lease ran out) or is told to stop it
    f.agent(node).signal('SIGCONT');
    frozen = undefined;
    const after = await waitFor('the fencing counted', async () => {
      const b = (await scrape(port, admin)).body;
      return (sample(b, 'meshrun_fencings_total{by="agent"}') ?? 0) + (sample(b, 'meshrun_fencings_total{by="coordinator"}') ?? 0) === 1 ? b : undefined;
    }, 30_000);
    expect(sample(after, `meshrun_node_up{node="${node}"}`)).toBe(1);
    expect(sample(after, 'meshrun_failovers_total{outcome="reassigned"}'), 'the late result is not another failover').toBe(1);
  });
});

describe('--metrics-listen is checked before anything starts', () => {
  it('refuses a malformed address and, with --insecure, one beyond loopback', async () => {
    const { runCli } = await import('./harness/processes.js');
    const bad = await runCli(['coordinator', '--insecure', '--metrics-listen', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--metrics-listen nowhere: expected host:port/);
    const open = await runCli(['coordinator', '--insecure', '--metrics-listen', '0.0.0.0:7434']);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/--insecure refuses to serve metrics on 0\.0\.0\.0:7434/);
  });
});
