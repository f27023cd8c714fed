// The small detached wrapper that owns one run: started in its own session by the
// agent, it starts the argv (no shell) in a process group of its own with stdout and
// stderr into <stem>.log, and writes <stem>.rc atomically when the process ends, so
// the run and its result survive an agent restart. With a cgroup in its metadata, the
// process starts inside it, so every process it ever forks can be killed with the run.
// A run with secrets (a mask file in its metadata) writes into pipes instead, and the wrapper
// copies its output to the log with every secret value replaced by `***` (agent/runner/mask.ts).
import { spawn } from 'node:child_process';
import { appendFileSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { joinCgroup, ownCgroupPath } from '../../lib/cgroup.js';
import { StreamMasker } from './mask.js';
import { maskFileInPlace, readMaskFile, writeAll } from './mask-file.js';
import { procStartTicks } from './procfs.js';
import { stemPaths, type RunPaths } from './paths.js';
import { writeFileAtomic } from '../../lib/write-file-atomic.js';

const [dir, stem] = process.argv.slice(2);
if (!dir || !stem) {
  process.stderr.write('usage: wrapper RUN_DIR STEM\n');
  process.exit(2);
}
const paths = stemPaths(dir, stem);

// The run must not die with the terminal or the agent's service: only its own exit
// (or a signal to the run's process group, which this wrapper is not in) ends it.
for (const sig of ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE'] as const) process.on(sig, () => undefined);

// The agent wrote and validated this file; the wrapper stays free of schema code so
// that a run starts as fast as a bare node process can.
interface Meta {
  argv: string[];
  cwd: string;
  [k: string]: unknown;
}
function readMeta(p: RunPaths): Meta | undefined {
  try {
    const m = JSON.parse(readFileSync(p.json, 'utf8')) as Meta;
    return Array.isArray(m.argv) && m.argv.length > 0 && typeof m.cwd === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}
function readStopReason(p: RunPaths): string | null {
  try {
    return readFileSync(p.stop, 'utf8').trim() || null;
  } catch {
    return null;
  }
}
const writeMeta = (p: RunPaths, m: Meta): void => writeFileAtomic(p.json, JSON.stringify(m, null, 2) + '\n');

const loaded = readMeta(paths);
if (!loaded) {
  appendFileSync(paths.log, `meshrun: runner metadata ${paths.json} is missing or invalid\n`);
  writeFileAtomic(paths.rc, '127\n');
  process.exit(0);
}
const meta: Meta = loaded;
const logFd = openSync(paths.log, 'a', 0o600);

/** After the process exits, how long its pipes may stay open (held by something it left running) before the rc is written anyway. */
const OUTPUT_GRACE_MS = 2000;

/** A run with secrets: the values the wrapper masks in its log and outputs file. */
let masked: string[] | null = null;
let recorded = false;
/** The stop asked for (the agent writes it before it signals), read when the process ended. */
let stopAtExit: string | null | undefined;
/** Pipes of a masked run not yet at their end: the wrapper exits once they are. */
let openPipes = 0;

/** Writes the run's final metadata and rc, once. */
function record(exitCode: number, signal: string | null, error: string | null): void {
  if (recorded) return;
  recorded = true;
  // outputs go to the job record and later stages' environments: masked like the log
  const dropped = masked ? maskFileInPlace(paths.output, masked) : null;
  if (dropped) writeSync(logFd, `meshrun: outputs file dropped: ${dropped}\n`);
  meta.endedAt = Date.now();
  meta.exitCode = exitCode;
  meta.signal = signal;
  meta.error = error;
  // as it was when the process ended: a stop asked for after that did not end it
  meta.stopReason = stopAtExit !== undefined ? stopAtExit : readStopReason(paths);
  // files only this run needed, some holding secrets: gone before the run is reported ended
  for (const f of Array.isArray(meta.removeOnExit) ? (meta.removeOnExit as unknown[]) : []) if (typeof f === 'string') rmSync(f, { force: true });
  writeMeta(paths, meta);
  // rc last: its presence means the metadata is final.
  writeFileAtomic(paths.rc, `${exitCode}\n`);
}

function finish(exitCode: number, signal: string | null, error: string | null): never {
  record(exitCode, signal, error);
  process.exit(0);
}

// Without its values the wrapper would copy the run's secrets to the log in clear: the run is
// not started at all (rc 127, as for a command that cannot be started).
if (typeof meta.maskFile === 'string') {
  masked = readMaskFile(meta.maskFile) ?? null;
  if (!masked) {
    writeSync(logFd, `meshrun: cannot read the run's mask file ${meta.maskFile}; not starting the run, its output could show secrets in clear\n`);
    finish(127, null, 'mask file unreadable');
  }
}

/**
 * Node cannot run code between fork and exec, so the wrapper joins the run's cgroup itself
 * and the child is born in it (before it can fork anything); the wrapper then goes back to
 * where it was, so killing the cgroup never kills the one process that records the rc.
 * Returns where to go back to, or null when the run stays in the process group only.
 */
function enterCgroup(dir: string): string | null {
  let home: string | null = null;
  try {
    const own = ownCgroupPath(readFileSync('/proc/self/cgroup', 'utf8'));
    // the agent makes run cgroups as <mount>/meshrun/<run>
    if (own !== undefined) home = dirname(dirname(dir)) + (own === '/' ? '' : own);
    joinCgroup(dir, process.pid);
    return home ?? dirname(dir);
  } catch (err) {
    writeSync(logFd, `meshrun: cannot join cgroup ${dir} (${(err as Error).message}); a stop signals the process group only\n`);
    return null;
  }
}
function leaveCgroup(dir: string, home: string): void {
  for (const to of [home, dirname(dir)]) {
    try {
      joinCgroup(to, process.pid);
      return;
    } catch {
      // try the next
    }
  }
  writeSync(logFd, `meshrun: cannot leave cgroup ${dir}; a stop of the run will end its wrapper too\n`);
}

const [file, ...args] = meta.argv as [string, ...string[]];
const cgroup = typeof meta.cgroup === 'string' ? meta.cgroup : null;
const home = cgroup ? enterCgroup(cgroup) : null;
let child;
try {
  child = spawn(file, args, { cwd: meta.cwd, env: process.env, detached: true, stdio: masked ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd] });
} catch (err) {
  writeSync(logFd, `meshrun: cannot start ${JSON.stringify(file)}: ${(err as Error).message}\n`);
  finish(127, null, (err as Error).message);
} finally {
  if (cgroup && home) leaveCgroup(cgroup, home);
}
if (child?.pid !== undefined) {
  // Read the start time now, before the exit could be reaped.
  meta.pid = child.pid;
  meta.pgid = child.pid;
  meta.startTicks = procStartTicks(child.pid) ?? null;
  meta.startedAt = Date.now();
  meta.wrapperPid = process.pid;
  meta.wrapperStartTicks = procStartTicks(process.pid) ?? null;
  writeMeta(paths, meta);
  writeFileAtomic(paths.pid, `${child.pid}\n`, 0o644);
}
child?.on('error', (err) => {
  writeSync(logFd, `meshrun: cannot start ${JSON.stringify(file)}: ${err.message}\n`);
  finish(127, null, err.message);
});
let exited: { code: number; signal: string | null } | null = null;
if (masked && child) {
  const values = masked;
  // each stream on its own (a value written whole to one, whatever the other writes meanwhile),
  // then both as they land in the log (a value pieced together from the two)
  const log = new StreamMasker(values);
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    openPipes++;
    const own = new StreamMasker(values);
    let ended = false;
    stream.on('data', (chunk: Buffer) => writeAll(logFd, log.push(own.push(chunk))));
    stream.on('error', () => undefined); // 'close' follows
    stream.on('close', () => {
      if (ended) return;
      ended = true;
      writeAll(logFd, log.push(own.end()));
      if (--openPipes > 0) return;
      writeAll(logFd, log.end());
      if (exited) finish(exited.code, exited.signal, null);
    });
  }
}
child?.on('exit', (code, signal) => {
  stopAtExit = readStopReason(paths);
  const signum = signal ? (constants.signals as Record<string, number>)[signal] ?? 0 : 0;
  exited = { code: code ?? 128 + signum, signal };
  // the rc only once every byte the run wrote is in the log (the pipes close right after the exit)
  if (openPipes === 0) finish(exited.code, exited.signal, null);
  // ...unless something it left running holds them: then the rc after a grace, and what that
  // writes keeps going to the log, masked, until it lets go (as it would without pipes)
  const e = exited;
  setTimeout(() => record(e.code, e.signal, null), OUTPUT_GRACE_MS).unref();
});
