// Capacity-aware placement against real processes: two agents on this one machine, made a
// "big" and a "small" node by the agent config's `capacity` override (documented for machines
// whose detection is wrong, and tests) and --reserve. A heavy stage waits with the reason while
// light stages flow past it, runs once the big node is free; a stage too large for every node
// says so ("never"); a bad `resources` in a job file is refused naming the field.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './harness/processes.js';

const GiB = 2 ** 30;
let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.start();
  const config = (name: string, yaml: string): string => {
    const p = join(fleet.dir, `${name}.yaml`);
    writeFileSync(p, yaml);
    return p;
  };
  // big: 8 cpu / 16 GiB; small: 4 cpu / 8 GiB of which --reserve holds back 2 cpu / 4 GiB
  await Promise.all([
    fleet.startAgent({ node: 'big', labels: 'pool=cap', slots: 4, extra: ['--config', config('big', 'capacity: {cpu: 8, memory: 16G}\n')] }),
    fleet.startAgent({ node: 'small', labels: 'pool=cap', slots: 4, extra: ['--config', config('small', 'capacity: {cpu: 4, memory: 8G}\n'), '--reserve', 'cpu=2,memory=4G'] }),
  ]);
  await fleet.waitNodesReady(['big', 'small']);
});
afterAll(async () => {
  await fleet?.destroy();
});

interface NodeJson {
  name: string;
  cpu: { capacity: number; allocatable: number; allocated: number } | null;
  memory: { capacity: number; allocatable: number; allocated: number } | null;
}

/** The node as `nodes --json` shows it: through the CLI, or the harness's in-process client (the same shape, quicker). */
async function nodeJson(name: string, cli = false): Promise<NodeJson> {
  if (!cli) return (await fleet.nodes()).find((n) => n.name === name) as unknown as NodeJson;
  const r = await fleet.cli(['nodes', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as NodeJson[]).find((n) => n.name === name)!;
}

function jobFile(name: string, stage: string): string {
  const p = join(fleet.dir, `${name}.yaml`);
  writeFileSync(p, `name: ${name}\nstages:\n  - name: run\n    on: { labels: { pool: cap } }\n${stage}`);
  return p;
}

async function submit(id: string, file: string): Promise<void> {
  const r = await fleet.cli(['submit', '--id', id, file]);
  expect(r.code, r.stderr).toBe(0);
}

describe('capacity-aware placement', () => {
  it('nodes shows capacity, allocatable (less --reserve) and allocated', async () => {
    expect(await nodeJson('big', true)).toMatchObject({ cpu: { capacity: 8, allocatable: 8, allocated: 0 }, memory: { capacity: 16 * GiB, allocatable: 16 * GiB, allocated: 0 } });
    expect(await nodeJson('small')).toMatchObject({ cpu: { capacity: 4, allocatable: 2, allocated: 0 }, memory: { capacity: 8 * GiB, allocatable: 4 * GiB, allocated: 0 } });
    const table = await fleet.cli(['nodes']);
    expect(table.stdout).toMatch(/CPU\s+MEMORY/);
    expect(table.stdout).toMatch(/^big\s.*\s0\/8\s+0\/16 GiB\s/m);
    expect(table.stdout).toMatch(/^small\s.*\s0\/2\s+0\/4 GiB\s/m);
  });

  it('a heavy stage waits with what is missing while light stages flow past it, then runs once the big node is free', async () => {
    const gate = join(fleet.dir, 'hog-gate');
    // the hog takes 6 of big's 8 cpu until the test opens the gate (small could never hold it)
    await submit('hog', jobFile('hog', `    resources: { cpu: 6 }\n    run: { command: [sh, -c, 'while [ ! -e ${gate} ]; do sleep 0.1; done'] }\n`));
    const hog = await fleet.waitJob('hog', (j) => j.stages[0]!.attempts[0]?.state === 'running');
    expect(hog.stages[0]!.node).toBe('big');
    expect(await nodeJson('big')).toMatchObject({ cpu: { allocated: 6 }, memory: { allocated: 0 } });

    await submit('heavy', jobFile('heavy', `    resources: { cpu: 4, memory: 8G }\n    run: { command: [sh, -c, 'echo heavy on $MESHRUN_NODE'] }\n`));
    const missing = 'needs 4 cpu / 8 GiB; largest free: big 2 cpu / 16 GiB';
    const waiting = await fleet.waitJob('heavy', (j) => j.stages[0]!.reason !== '');
    expect(waiting.state).toBe('queued');
    expect(waiting.stages[0]!.reason).toBe(missing);

    // light stages submitted after it run past it: without a request, and with one that fits
    await Promise.all([
      submit('light-a', jobFile('light-a', `    run: { command: ['true'] }\n`)),
      submit('light-b', jobFile('light-b', `    resources: { cpu: 1, memory: 1G }\n    run: { command: ['true'] }\n`)),
      submit('light-c', jobFile('light-c', `    resources: { cpu: 0.5 }\n    run: { command: ['true'] }\n`)),
    ]);
    for (const id of ['light-a', 'light-b', 'light-c']) await fleet.waitJob(id, (j) => j.state === 'succeeded', `${id} succeeded`);
    // (a light stage packed onto big meanwhile lowers the free amount named; once it ended the reason is as before)
    const still = await fleet.waitJob('heavy', (j) => j.stages[0]!.reason === missing, 'the reason once the light stages ended');
    expect(still.state, 'the heavy stage still waits for big').toBe('queued');
    expect(still.stages[0]!.attempts).toEqual([]);

    const shown = await fleet.cli(['job', 'heavy']);
    expect(shown.stdout).toMatch(/REQUEST/);
    expect(shown.stdout).toMatch(/run\s+queued\s+-\s+-\s+-\s+4 cpu \/ 8 GiB\s+needs 4 cpu \/ 8 GiB; largest free: big 2 cpu \/ 16 GiB/);
    const asJson = JSON.parse((await fleet.cli(['job', 'heavy', '--json'])).stdout);
    expect(asJson.stages[0].resources).toEqual({ cpu: 4, memory: 8 * GiB });

    writeFileSync(gate, '');
    const done = await fleet.waitJob('heavy', (j) => j.state === 'succeeded', 'heavy succeeded');
    expect(done.stages[0]!.node).toBe('big');
    expect((await fleet.waitJob('hog', (j) => j.state === 'succeeded')).state).toBe('succeeded');
    expect(existsSync(gate)).toBe(true);
  });

  it('a stage too large for every node says so, with the largest node\'s allocatable', async () => {
    await submit('never', jobFile('never', `    resources: { cpu: 12 }\n    run: { command: ['true'] }\n`));
    const j = await fleet.waitJob('never', (x) => x.stages[0]!.reason !== '');
    expect(j.state).toBe('queued');
    expect(j.stages[0]!.reason).toBe('needs 12 cpu; no node with labels pool=cap is that large (largest: big 8 cpu allocatable)');
    expect(j.reason).toBe('run: needs 12 cpu; no node with labels pool=cap is that large (largest: big 8 cpu allocatable)');
    const c = await fleet.cli(['cancel', 'never']);
    expect(c.code, c.stderr).toBe(0);
    await fleet.waitJob('never', (x) => x.state === 'cancelled');
  });

  it('a bad resources in a job file is refused before anything is sent, naming the field', async () => {
    const bad = jobFile('bad', `    resources: { cpu: 2, memory: 64 }\n    run: { command: ['true'] }\n`);
    const zero = jobFile('zero', `    resources: { cpu: 0 }\n    run: { command: ['true'] }\n`);
    const [r, z] = await Promise.all([fleet.cli(['submit', bad]), fleet.cli(['submit', zero])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: stages[0].resources.memory: expected a size with a unit, like 512M or 64G (K, M, G, T: powers of 1024)`);
    expect(z.code).toBe(2);
    expect(z.stderr).toContain(`${zero}: stages[0].resources.cpu: must be more than 0`);
  });
});
