// Runner files of one run: <dir>/<stem>.{pid,start,log,rc,json,stop,cursor,mask.json}; its cwd is the
// job's working directory <dir>/work (shared by its runs on this node). The agent writes .json before
// launch. The shell wrapper never edits it: the agent records there what the wrapper wrote (.start,
// .rc). The Node wrapper writes it itself. The agent asks for stops through .stop.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { runTokenSchema } from '../../proto/names.js';
import { type RunPaths } from './paths.js';
import { writeFileAtomic } from '../../lib/write-file-atomic.js';

export { ensurePrivateDir, jobWorkDir, runPaths, stemPaths, type RunPaths } from './paths.js';
import { failoverModeSchema, stopReasonSchema } from '../../proto/bus.js';

export const runMetaSchema = z.object({
  token: runTokenSchema,
  jobName: z.string(),
  node: z.string(),
  argv: z.array(z.string()).min(1),
  cwd: z.string(),
  /** Files the wrapper removes when the run ends (a playbook's vars file, which may hold secrets). */
  removeOnExit: z.array(z.string()).default([]),
  /** A run with secrets: its mask file (values to mask; 0600, in removeOnExit). The wrapper then pipes the run's output and masks it. */
  maskFile: z.string().nullable().default(null),
  failover: failoverModeSchema,
  failoverWaitMs: z.number().nullable().default(null),
  timeoutMs: z.number().nullable(),
  createdAt: z.number(),
  /** Globs of files to store as the stage's artifacts when the run ends. */
  artifacts: z.array(z.string()).default([]),
  /** The job's prune globs: never packed as artifacts. */
  prune: z.array(z.string()).default([]),
  /** A playbook run: its <stem>.events.jsonl is relayed beside the log. */
  playbook: z.boolean().default(false),
  wrapperPid: z.number().nullable().default(null),
  wrapperStartTicks: z.number().nullable().default(null),
  pid: z.number().nullable().default(null),
  pgid: z.number().nullable().default(null),
  /** The run's own cgroup v2 directory, made by the agent before launch; null: process group only. */
  cgroup: z.string().nullable().default(null),
  startTicks: z.number().nullable().default(null),
  startedAt: z.number().nullable().default(null),
  endedAt: z.number().nullable().default(null),
  exitCode: z.number().nullable().default(null),
  signal: z.string().nullable().default(null),
  stopReason: stopReasonSchema.nullable().default(null),
  error: z.string().nullable().default(null),
});
export type RunMeta = z.infer<typeof runMetaSchema>;

export function readMeta(p: RunPaths): RunMeta | undefined {
  try {
    const r = runMetaSchema.safeParse(JSON.parse(readFileSync(p.json, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Atomic, not fsynced: a power loss ends the run with the machine, and what re-adoption needs of a
 * live run (pid and start time) is in .start too. An fsync per run start cost milliseconds.
 */
export function writeMeta(p: RunPaths, meta: RunMeta): void {
  writeFileAtomic(p.json, JSON.stringify(meta, null, 2) + '\n', 0o600, { sync: false });
}

export function readRc(p: RunPaths): number | undefined {
  // asked of every live run at each tick: a missing file is the common answer, and cheaper than a thrown ENOENT
  if (!existsSync(p.rc)) return undefined;
  try {
    const line = readFileSync(p.rc, 'utf8');
    // whole only with its newline: the shell wrapper writes the line in place, in one write
    if (!line.endsWith('\n')) return undefined;
    const s = line.trim();
    const n = Number(s);
    return s !== '' && Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** How far the agent got in reporting a run: log bytes acknowledged, exit queued. */
export interface RunCursor {
  logOffset: number;
  eventsOffset: number;
  exitReported: boolean;
}

export function readCursor(p: RunPaths): RunCursor {
  try {
    const c = JSON.parse(readFileSync(p.cursor, 'utf8')) as Partial<RunCursor>;
    const n = Number(c.logOffset);
    const e = Number(c.eventsOffset);
    return { logOffset: Number.isInteger(n) && n >= 0 ? n : 0, eventsOffset: Number.isInteger(e) && e >= 0 ? e : 0, exitReported: c.exitReported === true };
  } catch {
    return { logOffset: 0, eventsOffset: 0, exitReported: false };
  }
}

/** Not fsynced: a cursor older than the truth after a crash only relays bytes again (message ids drop them). */
export function writeCursor(p: RunPaths, c: RunCursor): void {
  writeFileAtomic(p.cursor, JSON.stringify(c), 0o600, { sync: false });
}
