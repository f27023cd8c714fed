// Schedules on real processes: the coordinator fires a job file every two seconds with no CLI
// running, goes on after a coordinator kill -9 and restart (ticks while it was away are missed,
// none fired twice), and honours the overlap policy (skip, queue, allow) visibly in
// `schedule show`. Bad input is refused naming what is wrong; a viewer cannot create or delete
// (refused and audited) but can list and show.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshrunClient } from '../cli/client.js';
import { resolveClientTarget } from '../cli/client-config.js';
import { scheduleJson } from '../cli/schedule-format.js';
import { Fleet, sleep, waitFor } from './harness/processes.js';

let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'role=w', slots: 8 }] });
});
afterAll(async () => {
  await fleet?.destroy();
});

interface FiringJson {
  tick: number | null;
  outcome: string;
  job: string | null;
  jobState: string | null;
  detail: string;
}
interface ScheduleJson {
  name: string;
  nextRun: number | null;
  lastRun: FiringJson | null;
  history: FiringJson[];
}

const JOB_FILE = (name: string, script: string): string => `name: ${name}\nstages:\n  - name: run\n    on: { node: alpha }\n    run: { command: [sh, -c, ${JSON.stringify(script)}] }\n`;
const script = (marker: string, sleepS: number): string => `echo "$MESHRUN_JOB_ID start $(date +%s%N)" >> ${marker}; sleep ${sleepS}; echo "$MESHRUN_JOB_ID end $(date +%s%N)" >> ${marker}`;

/** A job file whose command notes its job id (and, given `sleepS`, runs that long) in `marker`. */
function jobFile(name: string, marker: string, sleepS = 0): string {
  const file = join(fleet.dir, `${name}.yaml`);
  writeFileSync(file, JOB_FILE(name, script(marker, sleepS)));
  return file;
}

/** The same job as the spec JSON the CLI sends (for calls made in-process). */
function specJson(name: string, marker: string, sleepS = 0): string {
  return JSON.stringify({ name, stages: [{ name: 'run', on: { node: 'alpha' }, run: { command: ['sh', '-c', script(marker, sleepS)] } }] });
}

/** Each job's start and end (ns) as its command noted them. */
function runs(marker: string): Map<string, { start: number; end?: number; starts: number }> {
  const out = new Map<string, { start: number; end?: number; starts: number }>();
  let text = '';
  try {
    text = readFileSync(marker, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').filter(Boolean)) {
    const [id, what, ns] = line.split(' ') as [string, string, string];
    const r = out.get(id) ?? { start: 0, starts: 0 };
    if (what === 'start') {
      r.start = Number(ns);
      r.starts++;
    } else r.end = Number(ns);
    out.set(id, r);
  }
  return out;
}

/**
 * Calls through an in-process client (a CLI process costs a whole Node start; the CLI's own
 * output is checked where a test runs it), as the admin or as the user of `config`; closed after.
 */
async function call<T>(fn: (c: MeshrunClient) => Promise<T>, config = fleet.trust.paths.adminConfig): Promise<T> {
  const c = new MeshrunClient(resolveClientTarget({ coordinator: fleet.coordinatorAddress }, { MESHRUN_CONFIG: config }));
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

const create = (name: string, cron: string, spec: string, more: { timeZone?: string; overlap?: string } = {}) =>
  call((c) => c.createSchedule({ name, cron, timeZone: more.timeZone ?? '', specJson: spec, workspace: '', overlap: more.overlap ?? '', catchUp: '', catchUpWindowMs: 0 }));

const show = async (name: string): Promise<ScheduleJson> => scheduleJson(await call((c) => c.getSchedule(name)), true) as unknown as ScheduleJson;

/** Ticks of the firings' job ids (`<name>-yyyymmddThhmmss`), ascending. */
const tickOf = (id: string): number => Date.parse(id.replace(/^.*-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)$/, '$1-$2-$3T$4:$5:$6Z'));

describe('schedules', () => {
  it('bad input is refused naming what is wrong; a viewer lists and shows but cannot create or delete (refused, audited)', async () => {
    const marker = join(fleet.dir, 'quiet.ran');
    const file = jobFile('quiet', marker);
    // the CLI's own checks, and one the coordinator makes, through the CLI
    const refused: [string[], RegExp][] = [
      [['schedule', 'create', 'c1', '--cron', '61 * * * *', file], /cron "61 \* \* \* \*": Invalid value for minute: 61/],
      [['schedule', 'create', 'c3', '--cron', '0 3 * * *', '--overlap', 'sometimes', file], /--overlap sometimes: expected one of skip, queue, allow/],
      [['schedule', 'create', 'c4', '--cron', '0 3 * * *', '--catch-up-window', '1h', file], /--catch-up-window goes with --catch-up once/],
    ];
    for (const [args, msg] of refused) {
      const r = await fleet.cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    // the coordinator's checks (the same answers reach the CLI, exit 2)
    const spec = specJson('quiet', marker);
    await expect(create('c2', '0 3 * * *', spec, { timeZone: 'Mars/Olympus' })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/time zone "Mars\/Olympus" is not an IANA time zone name/) });
    await expect(create('bad.name', '0 3 * * *', spec)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^name: must be letters, digits/) });
    await expect(create('n'.repeat(41), '0 3 * * *', spec)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/limit scheduleNameMaxChars/) });
    await expect(create('c5', '@every-blue-moon', spec)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^cron "@every-blue-moon": /) });
    await expect(call((c) => c.getSchedule('nope'))).rejects.toMatchObject({ exitCode: 4, message: 'no schedule nope' });

    const ws = join(fleet.dir, 'quiet-ws');
    mkdirSync(ws);
    writeFileSync(join(ws, 'input.txt'), 'from the workspace\n');
    const ok = await fleet.cli(['schedule', 'create', 'quiet', '--cron', '0 3 * * *', '--tz', 'Europe/Berlin', file, '--workspace', ws, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ name: 'quiet', cron: '0 3 * * *', timeZone: 'Europe/Berlin', overlap: 'skip', catchUp: 'none', paused: false, workspace: expect.stringMatching(/^[a-f0-9]{64}$/) });
    // run-now: a job at once, named for the time, linked to the schedule, in the schedule's workspace
    const now = await fleet.cli(['schedule', 'run-now', 'quiet']);
    expect(now.code, now.stderr).toBe(0);
    const runId = now.stdout.trim();
    expect(runId).toMatch(/^quiet-run-\d{8}T\d{6}$/);
    const ran = await fleet.waitJob(runId, (j) => j.state === 'succeeded');
    expect((ran as unknown as { schedule: unknown }).schedule).toEqual({ name: 'quiet', tick: null });
    expect(runs(marker).has(runId)).toBe(true);
    expect((await show('quiet')).history[0]).toMatchObject({ tick: null, outcome: 'run-now', job: runId, jobState: 'succeeded' });
    await expect(create('quiet', '0 4 * * *', spec)).rejects.toMatchObject({ exitCode: 1, message: expect.stringMatching(/schedule quiet exists already/) });

    const viewer = join(fleet.dir, 'vic.yaml');
    expect((await fleet.cli(['user', 'add', 'vic', '--role', 'viewer', '-o', viewer])).code).toBe(0);
    const byVic = await fleet.cli(['schedule', 'create', 'by-vic', '--cron', '* * * * *', file], { env: { MESHRUN_CONFIG: viewer } });
    expect(byVic.code).toBe(5);
    expect(byVic.stderr).toMatch(/permission denied: vic is a viewer; CreateSchedule needs the operator role/);
    await expect(call((c) => c.deleteSchedule('quiet'), viewer)).rejects.toMatchObject({ exitCode: 5, message: expect.stringMatching(/DeleteSchedule needs the operator role/) });
    await expect(call((c) => c.pauseSchedule('quiet'), viewer)).rejects.toMatchObject({ exitCode: 5 });
    await expect(call((c) => c.runSchedule('quiet'), viewer)).rejects.toMatchObject({ exitCode: 5 });
    const list = await fleet.cli(['schedule', 'list'], { env: { MESHRUN_CONFIG: viewer } });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+CRON\s+ZONE\s+NEXT RUN\s+LAST RUN/m);
    expect(list.stdout).toMatch(/^quiet\s+0 3 \* \* \*\s+Europe\/Berlin\s+\d{4}-\d\d-\d\d 0[12]:00:00Z/m);
    expect((await call((c) => c.getSchedule('quiet'), viewer)).name).toBe('quiet');
    // nothing was made, and the refusals are in the audit trail with what they named
    expect((await call((c) => c.listSchedules())).map((x) => x.name)).toEqual(['quiet']);
    const audit = await call((c) => c.listAudit(0, 0));
    expect(audit).toEqual(expect.arrayContaining([
      expect.objectContaining({ user: 'vic', method: 'CreateSchedule', target: 'by-vic', outcome: 'denied' }),
      expect.objectContaining({ user: 'vic', method: 'DeleteSchedule', target: 'quiet', outcome: 'denied' }),
      expect.objectContaining({ user: 'admin', method: 'CreateSchedule', target: 'quiet', outcome: 'ok' }),
    ]));
    expect((await call((c) => c.deleteSchedule('quiet'))).name).toBe('quiet');
    expect(await call((c) => c.listSchedules())).toEqual([]);
  });

  it('fires every 2 s with no CLI running, goes on after a coordinator kill -9 and restart, no tick twice; jobs name their schedule', async () => {
    const marker = join(fleet.dir, 'tick.ran');
    const c = await fleet.cli(['schedule', 'create', 'tick', '--cron', '*/2 * * * * *', jobFile('tick', marker)]);
    expect(c.code, c.stderr).toBe(0);
    // no CLI from here until the checks: the coordinator alone fires
    await waitFor('three firings', () => runs(marker).size >= 3, 20_000, 200);
    const before = runs(marker).size;
    await fleet.coordinator.kill('SIGKILL');
    const killedAt = Date.now();
    await sleep(4000);
    const restartedAt = Date.now();
    fleet.coordinator.restart();
    await waitFor('the coordinator to serve again', () => (fleet.coordinator.log().match(/coordinator listening/g) ?? []).length >= 2, 30_000);
    const back = Date.now();
    await waitFor('three firings after the restart', () => [...runs(marker).keys()].filter((id) => tickOf(id) > back).length >= 3, 20_000, 200);
    await call((c) => c.pauseSchedule('tick'));

    const ran = runs(marker);
    expect(ran.size).toBeGreaterThan(before);
    // each firing's command ran once, and one firing per tick (ids are per tick)
    for (const [id, r] of ran) expect(r.starts, id).toBe(1);
    const s = await show('tick');
    const mine = (await call((c) => c.listJobs(0))).filter((j) => j.schedule === 'tick');
    expect(mine.map((j) => j.id).sort()).toEqual([...ran.keys()].sort());
    for (const j of mine) expect(j.scheduleTickMs).toBe(tickOf(j.id));
    // the ticks while no coordinator ran were not fired: they are told as missed (catch-up none).
    // (A tick less than a second before the restart may still be reached on time: the grace of an every-2s schedule.)
    const gap = [...ran.keys()].map(tickOf).filter((t) => t > killedAt && t < restartedAt - 1000);
    expect(gap, 'no firing while the coordinator was away').toEqual([]);
    expect(s.history.some((f) => f.outcome === 'missed' || /earlier tick\(s\) since the last decided were missed/.test(f.detail)), JSON.stringify(s.history)).toBe(true);
    // `jobs` shows the schedule; `job` too
    const table = await fleet.cli(['jobs']);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+STATE\s+EXIT\s+STAGE\s+NODE\s+AGE\s+SCHEDULE/m);
    expect(table.stdout).toMatch(new RegExp(`^${mine[0]!.id}\\s.*\\stick$`, 'm'));
    const one = JSON.parse((await fleet.cli(['job', mine[0]!.id, '--json'])).stdout) as { schedule: unknown };
    expect(one.schedule).toEqual({ name: 'tick', tick: tickOf(mine[0]!.id) });
    // list shows the last run with its outcome, and no next run while paused
    const listed = (await call((c) => c.listSchedules())).map((x) => scheduleJson(x) as unknown as ScheduleJson);
    const t = listed.find((x) => x.name === 'tick')!;
    expect(t.nextRun).toBeNull();
    expect(t.lastRun).toMatchObject({ outcome: 'fired', job: expect.stringMatching(/^tick-/), jobState: expect.stringMatching(/succeeded|running|queued/) });
  });

  it('overlap: skip skips while a job runs, queue lets one tick wait and fires it when the job ends, allow runs them side by side', async () => {
    const m = (p: string): string => join(fleet.dir, `${p}.ran`);
    for (const [name, overlap] of [['oskip', 'skip'], ['oqueue', 'queue'], ['oallow', 'allow']] as const) await create(name, '*/2 * * * * *', specJson(name, m(name), 5), { overlap });
    await waitFor('two firings of each ended', () => ['oskip', 'oqueue', 'oallow'].every((n) => [...runs(m(n)).values()].filter((r) => r.end).length >= 2), 40_000, 250);
    for (const n of ['oskip', 'oqueue', 'oallow']) await call((c) => c.pauseSchedule(n));

    const intervals = (n: string): { start: number; end: number }[] => [...runs(m(n)).values()].filter((r) => r.end).map((r) => ({ start: r.start, end: r.end! })).sort((a, b) => a.start - b.start);
    const overlaps = (n: string): number => {
      const iv = intervals(n);
      return iv.filter((x, i) => i > 0 && x.start < iv[i - 1]!.end).length;
    };
    expect(overlaps('oskip'), 'skip: never two at once').toBe(0);
    expect(overlaps('oqueue'), 'queue: never two at once').toBe(0);
    expect(overlaps('oallow'), 'allow: side by side').toBeGreaterThan(0);

    const skip = await show('oskip');
    expect(skip.history.find((f) => f.outcome === 'skipped')?.detail).toMatch(/^job oskip-\d{8}T\d{6} has not ended \(overlap skip\)/);
    const queue = await show('oqueue');
    expect(queue.history.map((f) => f.outcome)).toEqual(expect.arrayContaining(['queued', 'fired-queued']));
    // the queued tick fired with its own tick's id, after the job it waited for
    const fq = queue.history.find((f) => f.outcome === 'fired-queued')!;
    expect(fq.job).toBe(`oqueue-${new Date(fq.tick!).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '')}`);
    const human = await fleet.cli(['schedule', 'show', 'oskip']);
    expect(human.stdout).toMatch(/^overlap: skip {2}catch-up: none$/m);
    expect(human.stdout).toMatch(/^\d{4}-\d\d-\d\d \S+\s+\d{4}-\d\d-\d\d \S+\s+skipped\s+-\s+-\s+job oskip-/m);
  });
});
