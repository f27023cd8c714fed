// Retry and resume on real processes. A stage's `retry` policy: a stage that fails twice
// succeeds on its third try, after the delay recorded in the job's record (which a coordinator
// killed and restarted meanwhile honours); `on` narrows what is retried; a cancel during the
// delay cancels. `meshrun retry`: a pipeline whose middle stage failed runs again from that
// stage only, the first stage's outputs, files and artifacts still passed on (its command does
// not run again); `--from` runs a stage and what follows again; a job with secrets needs them
// again; a viewer is refused, and so is a job that has not ended.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, sleep, waitFor } from './harness/processes.js';

let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.start({
    agents: [
      { node: 'alpha', labels: 'role=a', slots: 4 },
      { node: 'beta', labels: 'role=b', slots: 4 },
    ],
  });
});
afterAll(async () => {
  await fleet?.destroy();
});

interface AttemptJson {
  attempt: number;
  run: number;
  try: number;
  node: string;
  state: string;
  exitCode: number | null;
  reason: string;
  assignedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
}
interface StageJson {
  name: string;
  state: string;
  reason: string;
  retry: { attempts: number; at: number | null };
  attempts: AttemptJson[];
}
interface JobJson {
  id: string;
  state: string;
  exitCode: number | null;
  reason: string;
  run: number;
  runs: { run: number; by: string | null; from: string | null; rerun: string[]; state: string | null; exitCode: number | null }[];
  handoffs: { from: { stage: string; attempt: number; node: string }; to: { stage: string; attempt: number; node: string } }[];
  stages: StageJson[];
}

async function job(id: string): Promise<JobJson> {
  return (await fleet.job(id)) as unknown as JobJson;
}

async function waitJob(id: string, pred: (j: JobJson) => boolean, what: string, timeoutMs = 40_000): Promise<JobJson> {
  return (await fleet.waitJob(id, (j) => pred(j as unknown as JobJson), what, timeoutMs)) as unknown as JobJson;
}

const ended = (j: JobJson): boolean => ['succeeded', 'failed', 'cancelled', 'timeout', 'lost'].includes(j.state);

function file(name: string, text: string): string {
  const p = join(fleet.dir, name);
  writeFileSync(p, text);
  return p;
}

async function submit(path: string, extra: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const r = await fleet.cli(['submit', ...extra, path], { env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** kill -9 of the coordinator, started again on the same store; resolves once it serves. */
async function restartCoordinator(): Promise<void> {
  const listening = (): number => (fleet.coordinator.log().match(/coordinator listening/g) ?? []).length;
  const before = listening();
  await fleet.coordinator.kill('SIGKILL');
  fleet.coordinator.restart();
  await waitFor('the coordinator to serve again', () => listening() > before, 30_000);
}

const lines = (p: string): string[] => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter((l) => l !== '') : []);

describe('a stage\'s retry policy', () => {
  it('a stage that fails twice succeeds on its third try, each try after the delay the record holds, across a coordinator restart', async () => {
    const counter = join(fleet.dir, 'flaky.count');
    const path = file(
      'flaky.yaml',
      `name: flaky
stages:
  - name: flaky
    on: { node: alpha }
    retry: { attempts: 3, delay: 3s }
    run: { command: [sh, -c, 'n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo $n > ${counter}; echo "flaky try $n"; [ $n -ge 3 ]'] }
`,
    );
    const id = await submit(path);
    // the first try failed: the stage waits, the next try's time in its record
    const waiting = await waitJob(id, (j) => j.stages[0]!.retry.at !== null, 'the stage waiting to retry');
    expect(waiting.state).toBe('running');
    expect(waiting.stages[0]).toMatchObject({ state: 'queued', retry: { attempts: 3 } });
    expect(waiting.stages[0]!.reason).toMatch(/^try 2 of 3 at \S+: try 1 failed: exit code 1/);
    const dueAt = waiting.stages[0]!.retry.at!;
    // a coordinator killed during the delay: the one started again finds the time in the record
    await restartCoordinator();
    const j = await waitJob(id, ended, 'the job to end');
    expect(j.state, JSON.stringify(j)).toBe('succeeded');
    const as = j.stages[0]!.attempts;
    expect(as.map((a) => [a.attempt, a.run, a.try, a.state, a.exitCode])).toEqual([
      [1, 1, 1, 'failed', 1],
      [2, 1, 2, 'failed', 1],
      [3, 1, 3, 'succeeded', 0],
    ]);
    expect(lines(counter)).toEqual(['3']);
    // each try began no sooner than the delay after the one before ended (times from the record)
    expect(as[1]!.assignedAt!).toBeGreaterThanOrEqual(dueAt);
    for (let i = 1; i < as.length; i++) expect(as[i]!.assignedAt! - as[i - 1]!.endedAt!).toBeGreaterThanOrEqual(3000);
    // the log says which try wrote what; `job` shows the try of each attempt
    const logs = await fleet.cli(['logs', id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stderr).toMatch(/==> stage flaky on alpha \(attempt 1\)\n[\s\S]*==> stage flaky on alpha \(attempt 2, try 2\)\n[\s\S]*==> stage flaky on alpha \(attempt 3, try 3\)/);
    expect(logs.stdout).toBe('flaky try 1\nflaky try 2\nflaky try 3\n');
    const json = (await fleet.cli(['logs', id, '--json'])).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; attempt?: number; try?: number; run?: number });
    expect(json.filter((e) => e.type === 'stage').map((e) => [e.attempt, e.run, e.try])).toEqual([
      [1, 1, 1],
      [2, 1, 2],
      [3, 1, 3],
    ]);
    const human = await fleet.cli(['job', id]);
    expect(human.stdout).toMatch(/^STAGE\s+STATE\s+NODE\s+ATTEMPT\s+TRY\s+EXIT/m);
    expect(human.stdout).toMatch(/^flaky\s+succeeded\s+alpha\s+3\s+3\/3\s+0/m);
    expect(human.stdout).toMatch(/^ {2}#1\s+failed\s+alpha\s+1\s+1\/3\s+1/m);
  }, 90_000);

  it('`on` narrows what is retried: a failure is not retried under on: [timeout]; a timeout is, until no tries are left', async () => {
    const path = file(
      'narrow.yaml',
      `name: narrow
stages:
  - name: fails
    on: { node: alpha }
    retry: { attempts: 3, on: [timeout] }
    run: { command: [sh, -c, 'exit 3'] }
  - name: times-out
    on: { node: alpha }
    needs: []
    timeout: 1s
    retry: { attempts: 2, on: [timeout] }
    run: { command: [sleep, '30'] }
`,
    );
    const id = await submit(path);
    const j = await waitJob(id, ended, 'the job to end');
    const [fails, timesOut] = j.stages;
    expect(fails!.state).toBe('failed');
    expect(fails!.attempts.map((a) => a.state)).toEqual(['failed']);
    expect(fails!.reason).toBe('exit code 3');
    expect(timesOut!.state).toBe('timeout');
    expect(timesOut!.attempts.map((a) => [a.try, a.state])).toEqual([
      [1, 'timeout'],
      [2, 'timeout'],
    ]);
    expect(timesOut!.reason).toMatch(/try 2 of 2, no tries left/);
  }, 60_000);

  it('a cancel during the delay cancels the retry', async () => {
    const path = file(
      'slow-retry.yaml',
      `name: slow-retry
stages:
  - name: once
    on: { node: alpha }
    retry: { attempts: 5, delay: 1h }
    run: { command: [sh, -c, 'exit 1'] }
`,
    );
    const id = await submit(path);
    await waitJob(id, (j) => j.stages[0]!.retry.at !== null, 'the stage waiting to retry');
    const c = await fleet.cli(['cancel', id]);
    expect(c.code, c.stderr).toBe(0);
    const j = await waitJob(id, ended, 'the job to end');
    expect(j.state).toBe('cancelled');
    expect(j.stages[0]).toMatchObject({ state: 'cancelled', reason: 'job cancelled while the stage waited to retry', retry: { at: null } });
    expect(j.stages[0]!.attempts).toHaveLength(1);
  }, 60_000);
});

describe('meshrun retry', () => {
  it('re-runs a pipeline from its failed middle stage: the first stage\'s outputs, files and artifacts are passed on, its command not run again; --from runs a stage and what follows again', async () => {
    const ws = join(fleet.dir, 'resume-ws');
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, 'input.txt'), 'from the workspace\n');
    const gate = join(fleet.dir, 'resume.gate');
    const aRuns = join(fleet.dir, 'resume.a');
    const bSeen = join(fleet.dir, 'resume.b');
    const cSeen = join(fleet.dir, 'resume.c');
    const path = file(
      'resume.yaml',
      `name: resume
stages:
  - name: prepare
    on: { node: alpha }
    artifacts: [made.txt]
    run: { command: [sh, -c, 'echo ran >> ${aRuns}; echo "made by prepare" > made.txt; echo "TOKEN=t-$$" >> "$MESHRUN_OUTPUT"'] }
  - name: build
    on: { node: beta }
    run: { command: [sh, -c, 'test -e ${gate} || { echo "no gate"; exit 7; }; cat input.txt; echo "build $TOKEN" >> ${bSeen}'] }
  - name: ship
    on: { node: alpha }
    run: { command: [sh, -c, 'echo shipping; echo "ship $TOKEN $(cat made.txt)" >> ${cSeen}'] }
`,
    );
    const id = await submit(path, ['--workspace', ws]);
    const first = await waitJob(id, ended, 'the first run to end');
    expect(first.state).toBe('failed');
    expect(first.exitCode).toBe(7);
    expect(first.stages.map((s) => s.state)).toEqual(['succeeded', 'failed', 'skipped']);

    // the cause fixed: the failed stage and what it skipped run again
    writeFileSync(gate, '');
    const r = await fleet.cli(['retry', id]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`job ${id}: run 2 started, re-running build, ship\n`);
    const second = await waitJob(id, (j) => j.run === 2 && ended(j), 'the second run to end');
    expect(second.state, JSON.stringify(second)).toBe('succeeded');
    expect(lines(aRuns)).toEqual(['ran']);
    const seen = lines(bSeen);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^build t-\d+$/);
    const t = seen[0]!.slice('build '.length);
    expect(lines(cSeen)).toEqual([`ship ${t} made by prepare`]);
    const [prepare, build, ship] = second.stages;
    expect(prepare!.attempts.map((a) => [a.attempt, a.run, a.state])).toEqual([[1, 1, 'succeeded']]);
    expect(build!.attempts.map((a) => [a.attempt, a.run, a.state, a.node])).toEqual([
      [1, 1, 'failed', 'beta'],
      [2, 2, 'succeeded', 'beta'],
    ]);
    expect(ship!.attempts.map((a) => [a.attempt, a.run, a.state])).toEqual([[1, 2, 'succeeded']]);
    expect(second.runs).toMatchObject([
      { run: 1, by: null, from: null, rerun: ['prepare', 'build', 'ship'], state: 'failed', exitCode: 7 },
      { run: 2, by: 'admin', from: null, rerun: ['build', 'ship'], state: null },
    ]);
    // the handoff from the kept stage to the re-run one is recorded as in the first run
    expect(second.handoffs.filter((h) => h.to.stage === 'build').map((h) => [h.from.stage, h.from.attempt, h.from.node, h.to.attempt, h.to.node])).toEqual([
      ['prepare', 1, 'alpha', 1, 'beta'],
      ['prepare', 1, 'alpha', 2, 'beta'],
    ]);
    const human = await fleet.cli(['job', id]);
    expect(human.stdout).toMatch(/^run: 2 of 2$/m);
    expect(human.stdout).toMatch(/^ {2}run 1: \S+ submitted; failed \(exit 7\) - stage build failed: exit code 7$/m);
    expect(human.stdout).toMatch(/^ {2}run 2: \S+ retried by admin, re-ran build, ship; current$/m);
    expect(human.stdout).toMatch(/^STAGE\s+STATE\s+NODE\s+ATTEMPT\s+RUN\s+EXIT/m);
    expect(human.stdout).toMatch(/^build\s+succeeded\s+beta\s+2\s+2\s+0/m);
    expect(human.stdout).toMatch(/^ {2}#1\s+failed\s+beta\s+1\s+1\s+7/m);
    const logs = await fleet.cli(['logs', id]);
    expect(logs.stderr).toMatch(/==> stage build on beta \(attempt 1\)\n[\s\S]*==> stage build on beta \(attempt 2, run 2\)\n[\s\S]*==> stage ship on alpha \(attempt 1, run 2\)/);
    expect(logs.stdout).toContain('no gate\n');
    expect(logs.stdout).toContain('from the workspace\n');
    // the kept stage's artifacts are still the job's
    const out = join(fleet.dir, 'resume-arts');
    const a = await fleet.cli(['artifacts', id, '-o', out]);
    expect(a.code, a.stderr).toBe(0);
    expect(readFileSync(join(out, 'prepare', 'made.txt'), 'utf8')).toBe('made by prepare\n');

    // succeeded: nothing to re-run without --from; an unknown stage is named
    const nothing = await fleet.cli(['retry', id]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/job \S+ succeeded: nothing to re-run \(--from STAGE/);
    const unknown = await fleet.cli(['retry', id, '--from', 'deploy']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/has no stage "deploy" \(its stages: prepare, build, ship\)/);

    // --from build: build and ship run again, prepare is kept
    const from = await fleet.cli(['retry', id, '--from', 'build', '--json']);
    expect(from.code, from.stderr).toBe(0);
    expect(JSON.parse(from.stdout)).toMatchObject({ id, run: 3, runs: [{ run: 1 }, { run: 2, state: 'succeeded', exitCode: 0 }, { run: 3, from: 'build', rerun: ['build', 'ship'] }] });
    const third = await waitJob(id, (j) => j.run === 3 && ended(j), 'the third run to end');
    expect(third.state).toBe('succeeded');
    expect(lines(aRuns)).toEqual(['ran']);
    expect(lines(bSeen)).toEqual([`build ${t}`, `build ${t}`]);
    expect(lines(cSeen)).toEqual([`ship ${t} made by prepare`, `ship ${t} made by prepare`]);
    expect(third.stages[1]!.attempts.map((a) => a.run)).toEqual([1, 2, 3]);

    // --from the first stage runs everything again
    const all = await fleet.cli(['retry', id, '--from', 'prepare']);
    expect(all.stdout).toBe(`job ${id}: run 4 started, re-running prepare, build, ship\n`);
    const fourth = await waitJob(id, (j) => j.run === 4 && ended(j), 'the fourth run to end');
    expect(fourth.state).toBe('succeeded');
    expect(lines(aRuns)).toEqual(['ran', 'ran']);
  }, 120_000);

  it('a job with secrets needs them again: refused without, run with --secrets-from', async () => {
    const gate = join(fleet.dir, 'secret.gate');
    const seen = join(fleet.dir, 'secret.seen');
    const path = file(
      'secret.yaml',
      `name: secret-retry
secrets:
  API_TOKEN: { env: RETRY_TEST_TOKEN }
stages:
  - name: use
    on: { node: alpha }
    secrets: [API_TOKEN]
    run: { command: [sh, -c, 'test -e ${gate} || exit 4; [ "$API_TOKEN" = "s3cret-value" ] && echo matched >> ${seen}'] }
`,
    );
    const id = await submit(path, [], { RETRY_TEST_TOKEN: 's3cret-value' });
    expect((await waitJob(id, ended, 'the first run to end')).state).toBe('failed');
    writeFileSync(gate, '');
    const without = await fleet.cli(['retry', id]);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/declares secrets \(API_TOKEN\); they were forgotten when it ended: give them again \(meshrun retry \S+ --secrets-from JOB-FILE/);
    const r = await fleet.cli(['retry', id, '--secrets-from', path], { env: { RETRY_TEST_TOKEN: 's3cret-value' } });
    expect(r.code, r.stderr).toBe(0);
    const j = await waitJob(id, (x) => x.run === 2 && ended(x), 'the second run to end');
    expect(j.state, JSON.stringify(j)).toBe('succeeded');
    expect(lines(seen)).toEqual(['matched']);
  }, 60_000);

  it('a viewer is refused; a job that has not ended is refused', async () => {
    const path = file(
      'long.yaml',
      `name: long
stages:
  - name: wait
    on: { node: alpha }
    run: { command: [sleep, '60'] }
`,
    );
    const id = await submit(path);
    await waitJob(id, (j) => j.stages[0]!.state === 'running', 'the stage to run');
    const running = await fleet.cli(['retry', id]);
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(new RegExp(`job ${id} is running: only an ended job can be retried \\(cancel it first: meshrun cancel ${id}\\)`));
    expect((await fleet.cli(['cancel', id])).code).toBe(0);
    expect((await waitJob(id, ended, 'the job to end')).state).toBe('cancelled');

    const viewer = join(fleet.dir, 'vic.yaml');
    expect((await fleet.cli(['user', 'add', 'vic', '--role', 'viewer', '-o', viewer])).code).toBe(0);
    const byVic = await fleet.cli(['retry', id], { env: { MESHRUN_CONFIG: viewer } });
    expect(byVic.code).toBe(5);
    expect(byVic.stderr).toMatch(/permission denied: vic is a viewer; RetryJob needs the operator role/);
    // refused and audited
    const audit = (await fleet.cli(['audit', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { user: string; method: string; target: string; outcome: string });
    expect(audit.some((e) => e.user === 'vic' && e.method === 'RetryJob' && e.target === id && e.outcome === 'denied')).toBe(true);
    // nothing changed: still the one cancelled run
    const j = await job(id);
    expect(j).toMatchObject({ state: 'cancelled', run: 1, runs: [] });
    // an operator may
    const op = join(fleet.dir, 'olga.yaml');
    expect((await fleet.cli(['user', 'add', 'olga', '--role', 'operator', '-o', op])).code).toBe(0);
    const byOlga = await fleet.cli(['retry', id], { env: { MESHRUN_CONFIG: op } });
    expect(byOlga.code, byOlga.stderr).toBe(0);
    const again = await waitJob(id, (x) => x.run === 2 && x.stages[0]!.state === 'running', 'the second run to run');
    expect(again.runs[1]).toMatchObject({ run: 2, by: 'olga', rerun: ['wait'] });
    expect((await fleet.cli(['audit', '--json'])).stdout).toMatch(new RegExp(`"user":"olga".*"method":"RetryJob","target":"${id}".*"outcome":"ok"`));
    // a coordinator started again holds the reopened job: its run is not told it was superseded
    await restartCoordinator();
    await sleep(3000);
    const held = await job(id);
    expect(held.stages[0]!.attempts.map((a) => [a.attempt, a.run, a.state])).toEqual([
      [1, 1, 'cancelled'],
      [2, 2, 'running'],
    ]);
    expect((await fleet.cli(['cancel', id])).code).toBe(0);
    const last = await waitJob(id, ended, 'the second run to end');
    expect(last.state).toBe('cancelled');
    expect(last.runs.map((r) => [r.run, r.state])).toEqual([
      [1, 'cancelled'],
      [2, null],
    ]);
  }, 60_000);
});
