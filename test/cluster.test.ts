// No single point of failure, on a fleet of machines (network namespaces): three machines each
// run a nats-server of one JetStream cluster (every stream and bucket with 3 replicas) and a
// coordinator (one leads, two wait), three machines run agents, and the operator's workstation
// runs the CLI with every coordinator's address. Then, one at a time: the leading coordinator
// killed mid-dispatch and mid-run; the leader frozen past its lease and thawed; one
// nats-server killed, then another after the first came back; the leader's machine (its
// nats-server and coordinator) cut off from the others.
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

const LEASE = '1.5s'; // the default, spelled out: agents' leases (3 s) outlast a takeover from it
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
      // the last refusal is what a timeout reports
      if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.trim().slice(-500)}`);
      return true;
    }, 60_000, 500);
  }

  /**
   * Every job succeeded, with its logs exact; no node was marked down. With `fencing`, agents
   * may have fenced runs: a server cut off with agents on it looks to those agents exactly like
   * being cut off themselves (their heartbeats time out). Such a stage ran again, but only after
   * its earlier attempt was fenced, never twice at once.
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
    else console.info(`agents that fenced a run: ${fenced.join(', ') || 'none'}`);
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
      if (!c || c.daemon.name === old) return undefined;
      // listening since it took this lead (it may have led, and listened, before)
      const log = c.daemon.log();
      return /coordinator listening/.test(log.slice(log.lastIndexOf('leading: this coordinator holds the lease'))) ? c : undefined;
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
    if (ctx.task.result?.state === 'fail') writeFileSync(join(tmpdir(), `meshrun-cluster-${ctx.task.name.slice(0, 30).replace(/\W+/g, '-')}.log`), fleet.allLogs());
  });

  /** Every stream's replicas as the cluster reports them, read from the workstation (the servers are reachable from the fleet's machines only). */
  function streams(stepDown: string[] = []): { name: string; replicas: number; peers: number; current: number }[] {
    const script = `
      const { readFileSync } = await import('node:fs');
      const { connect, credsAuthenticator } = await import('@nats-io/transport-node');
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const { natsTls } = await import(${JSON.stringify(join(ROOT, 'dist', 'lib', 'nats.js'))});
      const [servers, creds, ca, down] = process.argv.slice(1);
      const nc = await connect({ servers: servers.split(','), authenticator: credsAuthenticator(readFileSync(creds)), tls: natsTls(servers, ca) });
      for (const name of (down ?? '').split(',').filter(Boolean)) await nc.request('$JS.API.STREAM.LEADER.STEPDOWN.' + name, undefined, { timeout: 5000 }).catch(() => undefined);
      const out = [];
      for await (const s of (await jetstreamManager(nc)).streams.list()) {
        const r = s.cluster?.replicas ?? [];
        out.push({ name: s.config.name, replicas: s.config.num_replicas, peers: 1 + r.length, current: (s.cluster?.leader ? 1 : 0) + r.filter((x) => x.current && !x.offline).length });
      }
      console.log(JSON.stringify(out));
      await nc.close();`;
    const p = fleet.trust.paths;
    const out = execFileSync('ip', ['netns', 'exec', workstation.netns, process.execPath, '--input-type=module', '-e', script, fleet.natsUrls, p.coordinatorCreds, p.caCert, stepDown.join(',')], { cwd: ROOT, encoding: 'utf8', timeout: 40_000 });
    return JSON.parse(out) as { name: string; replicas: number; peers: number; current: number }[];
  }

  /** A restarted server has caught up: every stream has all three replicas current. */
  async function clusterHealthy(): Promise<void> {
    // a server back from a cut-off catches up stream by stream (raft snapshots under CI load
    // take a while); the failure names the streams still behind
    let behind: string[] = [];
    const caughtUp = (stepDown: string[] = []): true => {
      behind = [...new Set(streams(stepDown).filter((s) => s.current !== 3).map((s) => s.name))];
      if (behind.length) throw new Error(`behind: ${behind.join(', ')}`);
      return true;
    };
    try {
      await waitFor('every stream to have three current replicas', () => caughtUp(), 60_000, 1000);
    } catch {
      // nats-server 2.9.10 now and then leaves a follower of a busy stream behind for minutes
      // after a partition heals (CI: KV_mr_nodes, KV_mr_mesh, KV_mr_secrets 2/3 after 120 s).
      // What an operator does then (the README's cluster section): a leader step-down of those
      // streams (`nats stream cluster step-down`); the new leader brings the follower up to date.
      console.info(`replicas still behind after 60 s: ${behind.join(', ')}; stepping their leaders down`);
      const once = behind;
      await waitFor('every stream to have three current replicas after a leader step-down', () => caughtUp(once.splice(0)), 60_000, 1000);
    }
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
    // agents held f-long through the takeover (the new leader answered "hold" while it loaded)
    await checkAll(['f-long', 'f-after']);
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
  }, 300_000);
  it("the leader's machine cut off: a coordinator on the majority side leads, the old one steps down", async () => {
    await submit('p-long', 10);
    await fleet.waitJob('p-long', (j) => j.stages[0]!.state === 'running');
    const old = leader();
    const machine = bus.find((m) => m.netns === old.machine.netns)!;
    await net.linkDown(machine);
    const at = Date.now();
    try {
      const next = await newLeaderAfter(old.daemon.name, 120_000);
      console.info(`leader ${old.daemon.name}'s machine cut off -> ${next} serves after ${Date.now() - at} ms`);
      await submit('p-during', 1);
      await fleet.waitJob('p-during', (j) => j.state === 'succeeded', 'succeeded', 60_000);
    } finally {
      await net.linkUp(machine);
    }
    // the cable back: its server catches up, as an operator would check
    await clusterHealthy();
    // back in contact, its renewal is refused: it stops (or it stopped already, unsure it led)
    await waitFor('the cut-off coordinator to step down', () => !old.daemon.alive || /lost the lead/.test(old.daemon.log()), 30_000);
    expect(old.daemon.log()).not.toMatch(/job write refused/);
    await checkAll(['p-long', 'p-during'], true);
  }, 360_000);
});
