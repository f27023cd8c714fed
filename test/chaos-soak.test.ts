// The chaos soak: four agents on machines of their own (network namespaces), a stream of short
// jobs (some with a handoff between two machines), and randomly timed faults of every kind -
// agent kill -9 and restart, coordinator kill -9 and restart, nats-server kill -9 and restart,
// a pulled cable, a frozen machine. Then, from evidence alone (the runners' files, the marker
// lines every command writes, the agents' logs, `meshrun job`):
// - every job ended and succeeded, none lost;
// - no two attempts of a stage ran at once for longer than --lease + kill grace (time a
//   machine spent frozen does not count: nothing on it ran);
// - no agent started a run while its lease was expired;
// - no stage completed twice because of a restart (agent, coordinator, nats-server); a stage
//   may complete twice only where its node was silent past --down-after (cable, freeze), and
//   each such case shows in `meshrun job` as a stale attempt.
// The seed is printed; MESHRUN_CHAOS_SEED=N repeats a run's fault plan.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, requireNetns, type Fleet as NetFleet, type Machine } from './fleet/netns.js';
import { Fleet, sleep, waitFor, type JobJson } from './harness/processes.js';
import { rng } from './harness/rng.js';

const cap = await requireNetns(['ip', 'nats-server']);
if (!cap.ok) console.warn(`chaos-soak skipped (outside CI): ${cap.reason}`);

const LEASE_MS = 1500; // the agent's default --lease
const KILL_GRACE_MS = 1500; // the agent's default --kill-grace
const JOBS = 30;
const SUBMIT_EVERY_MS = 1300;
const SILENCE_MS = 6500; // a cable pulled or a machine frozen this long: past --down-after (5 s)
const NODES = [
  { node: 'alpha', labels: 'pool=x,side=l' },
  { node: 'beta', labels: 'pool=x,side=l' },
  { node: 'gamma', labels: 'pool=x,side=r' },
  { node: 'delta', labels: 'pool=x,side=r' },
];
type FaultKind = 'agent-restart' | 'coordinator-restart' | 'bus-restart' | 'cable' | 'freeze';
const KINDS: FaultKind[] = ['agent-restart', 'coordinator-restart', 'bus-restart', 'cable', 'freeze'];
interface Fault {
  kind: FaultKind;
  node: string | null;
  from: number;
  to: number;
}


describe.skipIf(!cap.ok)('chaos soak', () => {
  let net: NetFleet;
  let fleet: Fleet;
  const machineOf = new Map<string, Machine>();

  beforeAll(async () => {
    net = await createFleet({ prefix: 'mrs', count: NODES.length + 1 });
    const [bus, ...rest] = net.machines as [Machine, ...Machine[]];
    fleet = await Fleet.start({ busNetns: bus.netns, busHost: bus.underlayIp });
    const nats = `tls://${bus.underlayIp}:${fleet.nats.port}`;
    for (const [i, n] of NODES.entries()) {
      machineOf.set(n.node, rest[i]!);
      await fleet.startAgent({ ...n, slots: 4, netns: rest[i]!.netns, extra: ['--nats', nats] });
    }
    await fleet.waitNodesReady(NODES.map((n) => n.node), 30_000);
  }, 120_000);

  afterAll(async () => {
    await fleet?.destroy();
    await net?.destroy();
  });

  /** Every process on the machine (agent, wrappers, commands) stopped or continued at once. */
  function signalMachine(m: Machine, sig: 'SIGSTOP' | 'SIGCONT'): void {
    for (const pid of execFileSync('ip', ['netns', 'pids', m.netns], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), sig);
      } catch {
        // ended meanwhile
      }
    }
  }

  async function inject(kind: FaultKind, node: string, r: () => number): Promise<Fault> {
    const from = Date.now();
    switch (kind) {
      case 'agent-restart': {
        await fleet.agent(node).kill('SIGKILL');
        await sleep(300 + r() * 2000); // systemd's RestartSec=500ms plus a slow start
        fleet.agent(node).restart();
        break;
      }
      case 'coordinator-restart':
        await fleet.coordinator.kill('SIGKILL');
        await fleet.startCoordinator();
        return { kind, node: null, from, to: Date.now() };
      case 'bus-restart':
        await fleet.nats.stop('SIGKILL');
        await sleep(r() * 2000);
        await fleet.startNats();
        return { kind, node: null, from, to: Date.now() };
      case 'cable':
        await net.linkDown(machineOf.get(node)!);
        await sleep(SILENCE_MS);
        await net.linkUp(machineOf.get(node)!);
        break;
      case 'freeze':
        signalMachine(machineOf.get(node)!, 'SIGSTOP');
        await sleep(SILENCE_MS);
        signalMachine(machineOf.get(node)!, 'SIGCONT');
        break;
    }
    const f = { kind, node, from, to: Date.now() };
    await fleet.waitNodesReady([node], 30_000);
    return f;
  }

  it('every job ends once; nothing runs twice but for silence, and then it shows', async () => {
    const seed = Number(process.env.MESHRUN_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const r = rng(seed);
    const started = Date.now();
    const marker = (job: string, stage: string): string => join(fleet.dir, `${job}.${stage}.marks`);
    const line = (word: string, job: string, stage: string): string => `echo "${word} $MESHRUN_NODE $MESHRUN_ATTEMPT" >> ${marker(job, stage)}`;
    const step = (job: string, stage: string, secs: string): string => `${line('start', job, stage)}; sleep ${secs}; ${line('done', job, stage)}`;
    const ids: string[] = [];
    const stagesOf = new Map<string, string[]>();

    // the job stream: one every SUBMIT_EVERY_MS, 1-4 s each; every fourth a two-stage job that hands off l -> r
    const submitting = (async () => {
      for (let i = 0; i < JOBS; i++) {
        const id = `soak-${i}`;
        const secs = (1 + r() * 3).toFixed(1);
        const spec =
          i % 4 === 3
            ? { name: 'handoff', stages: [
                { name: 'a', on: { labels: { side: 'l' } }, run: { command: ['sh', '-c', step(id, 'a', secs)] } },
                { name: 'b', on: { labels: { side: 'r' } }, needs: ['a'], run: { command: ['sh', '-c', step(id, 'b', '1')] } },
              ] }
            : { name: 'short', stages: [{ name: 'run', on: { labels: { pool: 'x' } }, run: { command: ['sh', '-c', step(id, 'run', secs)] } }] };
        stagesOf.set(id, spec.stages.map((s) => s.name));
        // the CLI retries a submit cut off by a fault (idempotent by id)
        const file = join(fleet.dir, `${id}.json`);
        writeFileSync(file, JSON.stringify(spec));
        await waitFor(`submit ${id}`, async () => (await fleet.cli(['submit', '--id', id, file], { timeoutMs: 15_000 })).code === 0, 60_000, 500);
        ids.push(id);
        await sleep(SUBMIT_EVERY_MS);
      }
    })();

    // the faults: every kind twice, in a seeded order, 2-4 s apart, one at a time
    const plan = [...KINDS, ...KINDS].map((k) => ({ k, o: r() })).sort((a, b) => a.o - b.o).map((x) => x.k);
    const faults: Fault[] = [];
    await sleep(3000);
    for (const kind of plan) {
      const node = NODES[Math.floor(r() * NODES.length)]!.node;
      faults.push(await inject(kind, node, r));
      await sleep(2000 + r() * 2000);
    }
    await submitting;

    // every job ends (and succeeds: every fault here is one the fleet must ride out)
    const jobs = new Map<string, JobJson>();
    const ended = (id: string): boolean => ['succeeded', 'failed', 'cancelled', 'timeout', 'lost'].includes(jobs.get(id)?.state ?? '');
    try {
      await waitFor('every job ended', async () => {
        const res = await fleet.cli(['jobs', '--json', '--limit', '0']);
        if (res.code !== 0) return false;
        const list = JSON.parse(res.stdout) as JobJson[];
        for (const j of list) jobs.set(j.id, j);
        return ids.every(ended);
      }, 180_000, 2000);
    } catch (err) {
      // which jobs, where they stood, and what the daemons said: the failure is useless without them
      const open = ids.filter((id) => !ended(id)).slice(0, 5).map((id) => JSON.stringify(jobs.get(id) ?? { id, state: 'not listed' }));
      const file = join(tmpdir(), 'meshrun-soak-failure.log');
      writeFileSync(file, `faults: ${JSON.stringify(faults)}\nnot ended: ${open.join('\n')}\n\n${fleet.allLogs()}`);
      throw new Error(`${(err as Error).message}; faults ${JSON.stringify(faults.map((f) => f.kind))}; not ended (first 5):\n${open.join('\n')}\ndaemon logs: ${file}`);
    }

    const silent = faults.filter((f) => f.kind === 'cable' || f.kind === 'freeze');
    const frozenMsWithin = (node: string, a: number, b: number): number =>
      faults.filter((f) => f.kind === 'freeze' && f.node === node).reduce((ms, f) => ms + Math.max(0, Math.min(b, f.to) - Math.max(a, f.from)), 0);
    const runMeta = (node: string, job: string, stage: string, attempt: number): { startedAt?: number; endedAt?: number } | undefined => {
      try {
        return JSON.parse(readFileSync(join(fleet.agentDir(node), 'runs', job, `${stage}.${attempt}.json`), 'utf8'));
      } catch {
        return undefined;
      }
    };

    const problems: string[] = [];
    let attempts = 0;
    let extraAttempts = 0;
    let maxOverlapMs = 0;
    const twiceForSilence: string[] = [];
    for (const id of ids) {
      const job = jobs.get(id)!;
      if (job.state !== 'succeeded') problems.push(`${id} ended ${job.state}: ${job.reason}`);
      for (const stage of stagesOf.get(id)!) {
        const s = job.stages.find((x) => x.name === stage)!;
        attempts += s.attempts.length;
        extraAttempts += Math.max(0, s.attempts.length - 1);
        // two attempts at once: only within lease + kill grace, frozen time aside
        const spans = s.attempts.map((a) => ({ a, m: runMeta(a.node, id, stage, a.attempt) })).filter((x) => x.m?.startedAt);
        for (let i = 0; i < spans.length; i++) {
          for (let j = i + 1; j < spans.length; j++) {
            const [x, y] = [spans[i]!, spans[j]!];
            const from = Math.max(x.m!.startedAt!, y.m!.startedAt!);
            const to = Math.min(x.m!.endedAt ?? Date.now(), y.m!.endedAt ?? Date.now());
            if (to <= from) continue;
            const overlap = to - from - frozenMsWithin(x.a.node, from, to);
            maxOverlapMs = Math.max(maxOverlapMs, overlap);
            if (overlap > LEASE_MS + KILL_GRACE_MS) problems.push(`${id}/${stage}: attempts ${x.a.attempt} and ${y.a.attempt} ran at once for ${overlap} ms`);
          }
        }
        // completed twice: more than one "done" line for the stage
        const done = readFileSync(marker(id, stage), 'utf8').split('\n').filter((l) => l.startsWith('done '));
        if (done.length === 0) problems.push(`${id}/${stage}: never completed`);
        if (done.length > 1) {
          const earlier = done.map((l) => l.split(' ')).filter(([, node, att]) => Number(att) !== s.attempt);
          for (const [, node, att] of earlier) {
            const a = s.attempts.find((x) => x.attempt === Number(att));
            const m = runMeta(node!, id, stage, Number(att));
            // the node of the earlier attempt was silent (cable, freeze) while that attempt ran
            const excused = silent.some((f) => f.node === node && m?.startedAt !== undefined && f.from <= (m.endedAt ?? Date.now()) && f.to >= m.startedAt);
            if (!excused) problems.push(`${id}/${stage}: attempt ${att} on ${node} completed, and so did attempt ${s.attempt}, with no silence of ${node} to explain it`);
            else if (a?.state !== 'stale') problems.push(`${id}/${stage}: attempt ${att} completed twice but \`job\` shows it ${a?.state}, not stale`);
            else twiceForSilence.push(`${id}/${stage} (attempt ${att} on ${node})`);
          }
        }
      }
    }

    // no run started while its agent's lease was expired (from the agents' own logs, in order)
    for (const { node } of NODES) {
      let expired = false;
      for (const l of fleet.agent(node).log().split('\n')) {
        if (l.includes('"msg":"lease expired')) expired = true;
        else if (l.includes('"msg":"lease renewed') || l.includes('"msg":"agent registered on the bus"')) expired = false;
        else if (expired && l.includes('"msg":"run started"')) problems.push(`${node} started a run with its lease expired: ${l.slice(0, 200)}`);
      }
    }

    const count = (k: FaultKind): number => faults.filter((f) => f.kind === k).length;
    console.info(
      [
        `chaos soak (seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s): ${ids.length} jobs, ${attempts} attempts (${extraAttempts} beyond the first)`,
        `  faults: ${KINDS.map((k) => `${k} ${count(k)}`).join(', ')}`,
        `  longest two attempts of a stage ran at once: ${maxOverlapMs} ms (allowed ${LEASE_MS + KILL_GRACE_MS} ms)`,
        `  stages completed twice: ${twiceForSilence.length}, each where its node was silent past --down-after${twiceForSilence.length ? `: ${twiceForSilence.join(', ')}` : ''}`,
        `  problems: ${problems.length}${problems.map((p) => `\n    - ${p}`).join('')}`,
      ].join('\n'),
    );
    if (problems.length > 0) {
      const jobsInvolved = new Set(problems.map((p) => p.split(/[/: ]/)[0]!));
      const about = (l: string): boolean => [...jobsInvolved].some((j) => l.includes(`"${j}/`) || l.includes(`"job":"${j}"`)) || /lease|refuses|fencing|node (down|suspect|back)|lead|stalled|connection ended/.test(l);
      for (const d of [fleet.coordinator, ...NODES.map((n) => fleet.agent(n.node))]) console.info(`--- ${d.name}\n${d.log().split('\n').filter(about).map((l) => l.slice(0, 300)).join('\n')}`);
    }
    expect(problems, `seed ${seed}\n${faults.map((f) => `${f.kind}${f.node ? ` ${f.node}` : ''} at +${f.from - started} ms for ${f.to - f.from} ms`).join('\n')}`).toEqual([]);
    for (const k of KINDS) expect(count(k), `faults of kind ${k}`).toBeGreaterThanOrEqual(1);
  }, 420_000);
});
