// `meshrun schedule create|list|show|pause|resume|delete|run-now`: job files the leading
// coordinator fires on a cron expression. The job file is read and checked here (as submit does),
// its workspace uploaded once; the coordinator checks the expression and the zone.
import type { Command } from 'commander';
import { durationFlag } from '../../proto/duration.js';
import type { MeshrunClient } from '../client.js';
import type { RpcClient } from '../rpc-client.js';
import { ExitCode, ExitError } from '../exit.js';
import { escapeControls } from '../format.js';
import { jobJson } from '../job-json.js';
import { scheduleDetail, scheduleJson, schedulesTable, utc } from '../schedule-format.js';

export interface ScheduleCreateOptions {
  cron: string;
  tz?: string;
  workspace?: string;
  overlap?: string;
  catchUp?: string;
  catchUpWindow?: string;
  json?: boolean;
}

const OVERLAP = ['skip', 'queue', 'allow'];
const CATCH_UP = ['none', 'once'];
const out = (s: string): void => void process.stdout.write(s);

export async function scheduleCreateCmd(client: RpcClient | MeshrunClient, name: string, file: string, o: ScheduleCreateOptions): Promise<number> {
  if (o.overlap !== undefined && !OVERLAP.includes(o.overlap)) throw new ExitError(ExitCode.Usage, `--overlap ${o.overlap}: expected one of ${OVERLAP.join(', ')}`);
  if (o.catchUp !== undefined && !CATCH_UP.includes(o.catchUp)) throw new ExitError(ExitCode.Usage, `--catch-up ${o.catchUp}: expected one of ${CATCH_UP.join(', ')}`);
  const windowMs = durationFlag('catch-up-window', o.catchUpWindow);
  if (windowMs !== undefined && o.catchUp !== 'once') throw new ExitError(ExitCode.Usage, '--catch-up-window goes with --catch-up once');
  const { loadJobFile } = await import('../job-file.js');
  const spec = loadJobFile(file);
  if (Object.keys(spec.secrets ?? {}).length > 0) throw new ExitError(ExitCode.Usage, `${file}: secrets: a schedule cannot carry secret values yet (meshrun submit reads them at submit time and they are never stored in clear)`);
  await client.ready();
  let workspace = '';
  if (o.workspace !== undefined) {
    const { packOrExit } = await import('./submit.js');
    const packed = await packOrExit(o.workspace);
    const ref = await (client as MeshrunClient).putBlob(packed.archive, packed.sha256);
    workspace = ref.sha256;
    process.stderr.write(`workspace ${o.workspace}: ${packed.files} entries, ${packed.bytes} bytes, ${ref.existed ? 'already stored' : 'stored'} as ${ref.sha256.slice(0, 12)}\n`);
  }
  const s = await client.createSchedule({ name, cron: o.cron, timeZone: o.tz ?? '', specJson: JSON.stringify(spec), workspace, overlap: o.overlap ?? '', catchUp: o.catchUp ?? '', catchUpWindowMs: windowMs ?? 0 });
  out(o.json ? JSON.stringify(scheduleJson(s)) + '\n' : `${escapeControls(`schedule ${s.name} created: ${s.cron} (${s.timeZone}), next run ${utc(s.nextRunMs)}`)}\n`);
  return ExitCode.Ok;
}

export async function scheduleListCmd(client: RpcClient, o: { json?: boolean }): Promise<number> {
  await client.ready();
  const list = await client.listSchedules();
  out(o.json ? JSON.stringify(list.map((s) => scheduleJson(s)), null, 2) + '\n' : list.length ? schedulesTable(list) : 'no schedules\n');
  return ExitCode.Ok;
}

export async function scheduleShowCmd(client: RpcClient, name: string, o: { json?: boolean }): Promise<number> {
  await client.ready();
  const s = await client.getSchedule(name);
  out(o.json ? JSON.stringify(scheduleJson(s, true), null, 2) + '\n' : scheduleDetail(s));
  return ExitCode.Ok;
}

export async function scheduleChangeCmd(client: RpcClient, name: string, what: 'pause' | 'resume' | 'delete', o: { json?: boolean }): Promise<number> {
  await client.ready();
  const s = what === 'pause' ? await client.pauseSchedule(name) : what === 'resume' ? await client.resumeSchedule(name) : await client.deleteSchedule(name);
  const said = what === 'delete' ? 'deleted (jobs it fired go on)' : what === 'pause' ? 'paused' : `resumed, next run ${utc(s.nextRunMs)}`;
  out(o.json ? JSON.stringify(scheduleJson(s)) + '\n' : `${escapeControls(`schedule ${s.name} ${said}`)}\n`);
  return ExitCode.Ok;
}

export async function scheduleRunNowCmd(client: RpcClient, name: string, o: { json?: boolean }): Promise<number> {
  await client.ready();
  const r = await client.runSchedule(name);
  out(o.json ? JSON.stringify({ schedule: scheduleJson(r.schedule), job: jobJson(r.job), created: r.created }) + '\n' : `${escapeControls(r.job.id)}\n`);
  return ExitCode.Ok;
}

export function registerScheduleCommands(program: Command, rpc: () => Promise<RpcClient>, grpc: () => Promise<MeshrunClient>, run: (p: Promise<number>) => void): void {
  const schedule = program.command('schedule').description('job files the leading coordinator fires on a cron expression (README "Schedules")');
  schedule
    .command('create')
    .description('fire FILE.yaml on a cron expression: five fields (min hour day month weekday), or six with seconds first')
    .argument('<name>', 'letters, digits, - and _, at most 40: firings are jobs NAME-yyyymmddThhmmss (UTC)')
    .argument('<file>', 'the job file')
    .requiredOption('--cron <expr>', 'e.g. "0 3 * * *" (03:00 daily), "*/10 * * * * *" (every 10 s), @hourly')
    .option('--tz <zone>', 'IANA time zone the expression is read in, e.g. Europe/Berlin (default UTC)')
    .option('--workspace <dir>', 'pack DIR (honouring .gitignore and .meshrunignore) once, for every firing')
    .option('--overlap <policy>', 'while the previous firing\'s job has not ended: skip (default) | queue (one tick waits) | allow')
    .option('--catch-up <policy>', 'a tick missed while no coordinator led: none (default) | once (fire the latest missed one, once)')
    .option('--catch-up-window <duration>', 'with --catch-up once: how late a missed tick may still fire (default 1h)')
    .option('--json')
    .action((name: string, file: string, o: ScheduleCreateOptions) => run((o.workspace !== undefined ? grpc() : rpc()).then((c) => scheduleCreateCmd(c, name, file, o))));
  schedule.command('list').description('schedules with their next run and last run').option('--json').action((o) => run(rpc().then((c) => scheduleListCmd(c, o))));
  schedule.command('show').description('one schedule and its last decisions (fired, skipped, queued, missed)').argument('<name>').option('--json').action((n: string, o) => run(rpc().then((c) => scheduleShowCmd(c, n, o))));
  for (const [what, text] of [
    ['pause', 'stop firing (ticks while paused are neither missed nor caught up)'],
    ['resume', 'fire again from the next tick'],
    ['delete', 'remove the schedule (jobs it fired go on)'],
  ] as const) {
    schedule.command(what).description(text).argument('<name>').option('--json').action((n: string, o) => run(rpc().then((c) => scheduleChangeCmd(c, n, what, o))));
  }
  schedule.command('run-now').description('fire the schedule\'s job now, whatever its overlap policy; prints the job id').argument('<name>').option('--json').action((n: string, o) => run(rpc().then((c) => scheduleRunNowCmd(c, n, o))));
}
