// Paths of a run's runner files. Free of heavy imports: the detached wrapper loads
// this on every run start.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface RunTokenLike {
  job: string;
  stage: string;
  attempt: number;
}

export interface RunPaths {
  dir: string;
  stem: string;
  pid: string;
  /** Written by the shell wrapper once the command started: "PID TICKS WPID WTICKS". */
  start: string;
  log: string;
  rc: string;
  json: string;
  stop: string;
  cursor: string;
  /** The job's working directory on this node (`<dir>/work`): every run of the job here starts in it. */
  work: string;
  output: string;
  events: string;
  remoteEnv: string;
}

/** The working directory every run of a job on this node starts in. */
export function jobWorkDir(stateDir: string, job: string): string {
  return join(stateDir, 'runs', job, 'work');
}

export function runPaths(stateDir: string, t: RunTokenLike): RunPaths {
  return stemPaths(join(stateDir, 'runs', t.job), `${t.stage}.${t.attempt}`);
}

export function stemPaths(dir: string, stem: string): RunPaths {
  const f = (ext: string): string => join(dir, `${stem}.${ext}`);
  return {
    dir,
    stem,
    pid: f('pid'),
    start: f('start'),
    log: f('log'),
    rc: f('rc'),
    json: f('json'),
    stop: f('stop'),
    cursor: f('cursor'),
    // one working directory per job on this node, shared by its runs here (unpacked once)
    work: join(dir, 'work'),
    output: f('output'),
    events: f('events.jsonl'),
    remoteEnv: f('remote.env'),
  };
}

export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

