// No single point of failure, on a fleet of machines (network namespaces): three machines each
// run a nats-server of one JetStream cluster (every stream and bucket with 3 replicas) and a
// coordinator (one leads, two wait), three machines run agents, and the operator's workstation
// runs the CLI with every coordinator's address. Then, one at a time: the leading coordinator
// killed mid-dispatch and mid-run; the leader frozen past its lease and thawed; one
// nats-server killed, then another after the first came back. (The leader's machine cut off is
// not here yet: see the README, "What happens when each part fails".)
// After each, from evidence only (`meshrun job`, `meshrun logs`, the runners' files, marker
// lines the commands append, the daemons' logs):
// - every job reached its terminal state and succeeded;
// - no stage result comes from a stale attempt, and logs are byte-exact (checkInvariants);
// - no stage ran twice: a marker file has one line per stage;
// - no node was marked down and no run was fenced because coordinators changed.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFleet, requireNetns, type Fleet as NetFleet, type Machine } from './fleet/netns.js';
import { Fleet, ROOT, sleep, waitFor } from './harness/processes.js';
import { checkInvariants } from './harness/invariants.js';

const cap = await requireNetns(['ip', 'nats-server']);
if (!cap.ok) console.warn(`cluster tests skipped (outside CI): ${cap.reason}`);

const LEASE = '3s';
const AGENTS = ['ant', 'bee', 'cat'];

describe.skipIf(!cap.ok)('three coordinators on a three-server nats cluster', () => {
  let net: NetFleet;
  let fleet: Fleet;
  let bus: Machine[];
  let workstation: Machine;
  let supervisor: NodeJS.Timeout | undefined;
  const exitedAt = new Map<string, number>();
  const marks = new Map<string, string>();

  beforeAll(async () => {
    net = await createFleet({ prefix: 'mrc', count: 7 });
    bus = net.machines.slice(0, 3);
    const agentMachines = net.machines.slice(3, 6);
    workstation = net.machines[6]!;
    const on = bus.map((m) => ({ netns: m.netns, host: m.underlayIp }));
    fleet = await Fleet.start({
      natsCluster: on,
      coordinatorMachines: on,
      workstationNetns: workstation.netns,
      coordinatorArgs: ['--replicas', '3', '--leader-lease', LEASE],
    });
    for (const [i, node] of AGENTS.entries()) await fleet.startAgent({ node, labels: 'pool=x', slots: 4, netns: agentMachines[i]!.netns });
    await fleet.waitNodesReady(AGENTS, 60_000);
    // what the unit does (Restart=on-failure, RestartSec=2): a coordinator that exited by itself
    // (lost the lead: 75) starts again, as a standby; one the test killed, the test restarts
    supervisor = setInterval(() => {
      for (const c of fleet.coordinators.values()) {
        const { exitCode, signalCode } = c.daemon.child;
        if (exitCode === null || signalCode !== null || exitedAt.has(c.daemon.name)) continue;
        exitedAt.set(c.daemon.name, Date.now());
        setTimeout(() => {
          exitedAt.delete(c.daemon.name);
          if (!c.daemon.alive) c.daemon.restart();
        }, 2000);
      }
    }, 200);
  }, 180_000);

  afterAll(async () => {
    clearInterval(supervisor);
    await fleet?.destroy();
    await net?.destroy();
  });

  /** A job whose command appends a marker line per run of its stage, prints ticks and takes `seconds`. */
  async function submit(id: string, seconds: number): Promise<void> {
    const marker = join(fleet.dir, `marks-${id}`);
    marks.set(id, marker);
    const script = `echo "$MESHRUN_NODE" >> ${marker}; i=0; while [ $i -lt ${seconds * 2} ]; do i=$((i+1)); echo "tick $i"; sleep 0.5; done`;
    // a submit with an id is idempotent: retried while the coordinators change hands
    await waitFor(`submit ${id}`, async () => {
      const r = await fleet.cli(['submit', '--label', 'pool=x', '--id', id, '--', 'sh', '-c', script], { timeoutMs: 40_000 });
      return r.code === 0 ? true : undefined;
    }, 60_000, 500);
  }

  /**
   * Every job succeeded, with its logs exact; no node was marked down. With `fencing`, agents
   * may have fenced runs: a frozen leader, or a server cut off with agents on it, looks to an
   * agent exactly like being cut off itself (its heartbeats time out; nobody says "no
   * responders"), and its lease (1.5 s) runs out before a standby can take over (3 s). Such a
   * stage ran again, but only after its earlier attempt was fenced, never twice at once.
   */
  async function checkAll(ids: string[], fencing = false): Promise<void> {
    const fenced = AGENTS.filter((n) => /fencing runs/.test(fleet.agent(n).log().slice(logFrom.get(n))));
    for (const id of ids) {
      const job = await fleet.waitJob(id, (j) => j.state === 'succeeded' || j.state === 'failed' || j.state === 'lost', 'ended', 90_000);
      expect(job.state, `${id}: ${JSON.stringify(job)}`).toBe('succeeded');
      await checkInvariants(fleet, id);
      const attempts = job.stages[0]!.attempts;
      const runs = readFileSync(marks.get(id)!, 'utf8').split('\n').filter(Boolean);
      expect(runs, `${id}: one marker line per attempt`).toHaveLength(attempts.length);
      if (!fencing) expect(attempts, `${id} ran once`).toHaveLength(1);
      for (const a of attempts.slice(0, -1)) expect(fenced, `${id}: attempt ${a.attempt} ended only because ${a.node} fenced it`).toContain(a.node);
    }
    for (const c of fleet.coordinators.values()) expect(c.daemon.log(), `${c.daemon.name} marked no node down`).not.toMatch(/"msg":"node down"/);
    if (!fencing) expect(fenced, 'no agent fenced a run').toEqual([]);
  }

  function leader(): NonNullable<ReturnType<Fleet['leader']>> {
    const l = fleet.leader();
    if (!l) throw new Error(`no coordinator leads\n${fleet.logs()}`);
    return l;
  }

  /**
   * The next leader serving. After a partition the two servers left need 20-30 s on this
   * machine before every stream has a leader again (measured); a kill is quicker.
   */
  async function newLeaderAfter(old: string, timeoutMs = 30_000): Promise<string> {
    const l = await waitFor('another coordinator to lead and listen', () => {
      const c = fleet.leader();
      return c && c.daemon.name !== old && /coordinator listening/.test(c.daemon.log()) ? c : undefined;
    }, timeoutMs, 100);
    return l.daemon.name;
  }

  /** Where each agent's log stood when the test began: fencing is judged per test. */
  const logFrom = new Map<string, number>();
  beforeEach(() => {
    for (const n of AGENTS) logFrom.set(n, fleet.agent(n).log().length);
  });

  afterEach((ctx) => {
    // the fleet's directory goes with it: keep what the daemons said about a failure
    if (ctx.task.result?.state === 'fail') writeFileSync(join(tmpdir(), `meshrun-cluster-${ctx.task.name.slice(0, 30).replace(/\W+/g, '-')}.log`), fleet.logs(40_000));
  });

  /** Every stream's replicas as the cluster reports them, read from the workstation (the servers are reachable from the fleet's machines only). */
  function streams(): { name: string; replicas: number; peers: number; current: number }[] {
    const script = `
      const { readFileSync } = await import('node:fs');
      const { connect, credsAuthenticator } = await import('@nats-io/transport-node');
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const { natsTls } = await import(${JSON.stringify(join(ROOT, 'dist', 'lib', 'nats.js'))});
      const [servers, creds, ca] = process.argv.slice(1);
      const nc = await connect({ servers: servers.split(','), authenticator: credsAuthenticator(readFileSync(creds)), tls: natsTls(servers, ca) });
      const out = [];
      for await (const s of (await jetstreamManager(nc)).streams.list()) {
        const r = s.cluster?.replicas ?? [];
        out.push({ name: s.config.name, replicas: s.config.num_replicas, peers: 1 + r.length, current: (s.cluster?.leader ? 1 : 0) + r.filter((x) => x.current && !x.offline).length });
      }
      console.log(JSON.stringify(out));
      await nc.close();`;
    const p = fleet.trust.paths;
    const out = execFileSync('ip', ['netns', 'exec', workstation.netns, process.execPath, '--input-type=module', '-e', script, fleet.natsUrls, p.coordinatorCreds, p.caCert], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    return JSON.parse(out) as { name: string; replicas: number; peers: number; current: number }[];
  }

  /** A restarted server has caught up: every stream has all three replicas current. */
  async function clusterHealthy(): Promise<void> {
    await waitFor('every stream to have three current replicas', () => {
      try {
        return streams().every((s) => s.current === 3);
      } catch {
        return false;
      }
    }, 60_000, 1000);
  }

  it('every stream and bucket has three replicas, one per server', async () => {
    const all = streams();
    expect(all.map((s) => s.name)).toEqual(expect.arrayContaining(['MR_EVENTS', 'MR_LOGS', 'MR_AUDIT', 'KV_mr_jobs', 'KV_mr_nodes', 'KV_mr_leader', 'OBJ_mr_blobs']));
    for (const s of all) expect(s, s.name).toMatchObject({ replicas: 3, peers: 3 });
  });

  it('the leading coordinator killed mid-run and mid-dispatch: another takes over, every run finishes once', async () => {
    await submit('k-long', 8);
    await fleet.waitJob('k-long', (j) => j.stages[0]!.state === 'running');
    const old = leader();
    // jobs in flight to the leader as it dies
    const burst = ['k-1', 'k-2', 'k-3'].map((id) => submit(id, 1));
    await sleep(150);
    await old.daemon.kill('SIGKILL');
    const at = Date.now();
    const next = await newLeaderAfter(old.daemon.name);
    console.info(`leader ${old.daemon.name} killed -> ${next} leads after ${Date.now() - at} ms`);
    await Promise.all(burst);
    await checkAll(['k-long', 'k-1', 'k-2', 'k-3']);
    old.daemon.restart();
    await waitFor('the restarted coordinator to wait as a standby', () => /standby: another coordinator leads/.test(old.daemon.log()), 30_000);
  }, 180_000);

  it('the leader frozen past its lease writes nothing after another took over, and exits when thawed', async () => {
    await submit('f-long', 6);
    await fleet.waitJob('f-long', (j) => j.stages[0]!.state === 'running');
    const old = leader();
    old.daemon.signal('SIGSTOP');
    await newLeaderAfter(old.daemon.name);
    await submit('f-after', 1);
    await fleet.waitJob('f-after', (j) => j.stages[0]!.state !== 'pending' && j.stages[0]!.state !== 'queued');
    const exited = new Promise<number | null>((res) => old.daemon.child.once('exit', (code) => res(code)));
    old.daemon.signal('SIGCONT');
    expect(await exited).toBe(75);
    const log = old.daemon.log();
    expect(log).toMatch(/lost the lead/);
    // the lease check stopped it before any write: none was even tried (and refused)
    expect(log).not.toMatch(/job write refused/);
    await checkAll(['f-long', 'f-after'], true);
    await waitFor('the thawed coordinator to come back as a standby', () => /standby: another coordinator leads/.test(old.daemon.log()), 30_000);
  }, 180_000);

  it('one nats-server killed, then another after the first came back: jobs run on, nothing fenced', async () => {
    for (const [i, name] of ['nats-1', 'nats-2'].entries()) {
      const id = `n-${i}`;
      await submit(id, 6);
      await fleet.waitJob(id, (j) => j.stages[0]!.state === 'running');
      await fleet.natsServers.get(name)!.stop('SIGKILL');
      try {
        // work goes on with two servers of three
        await submit(`${id}-during`, 1);
        await checkAll([id, `${id}-during`]);
      } finally {
        await fleet.startClusterServer(name);
        // "after the first came back": caught up, as an operator would check before the next
        await clusterHealthy();
      }
    }
  }, 240_000);
});
