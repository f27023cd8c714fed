// `meshrun watch`: a terminal dashboard. Nodes and their state, running and recently
// ended jobs with their current stage, node and playbook progress, and the tail of one
// job's log where every stage start is a marker line that says which node runs it now,
// so a quiet bastion after a handoff reads as "running there", not as "broken".
// On a TTY it redraws on the alternate screen until q / Ctrl-C; otherwise (or with
// --once) it prints one plain-text frame and exits.
import { parseDuration } from '../../proto/duration.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode, ExitError } from '../exit.js';
import { live } from '../watch/live.js';
import { once } from '../watch/once.js';

export interface WatchOptions {
  job?: string;
  interval?: string;
  once?: boolean;
  lines?: string;
}

/** Without --lines, --once prints this much of the log; on a terminal the tail fills the screen. */
const DEFAULT_LINES_ONCE = 20;

function parseOptions(o: WatchOptions): { intervalMs: number; lines: number | undefined } {
  const intervalMs = parseDuration(o.interval ?? '1s');
  if (intervalMs === undefined || intervalMs < 100) throw new ExitError(ExitCode.Usage, `--interval: expected a duration of at least 100ms like "1s" or "500ms", got ${JSON.stringify(o.interval)}`);
  let lines: number | undefined;
  if (o.lines !== undefined) {
    lines = Number(o.lines);
    if (!Number.isInteger(lines) || lines < 1 || lines > 100_000) throw new ExitError(ExitCode.Usage, `--lines: expected a whole number from 1 to 100000, got ${JSON.stringify(o.lines)}`);
  }
  return { intervalMs, lines };
}

export async function watch(client: MeshrunClient, o: WatchOptions): Promise<number> {
  const opts = parseOptions(o);
  const tty = !o.once && process.stdout.isTTY === true;
  await client.ready();
  return tty ? live(client, o.job, opts.intervalMs, opts.lines) : once(client, o.job, opts.lines ?? DEFAULT_LINES_ONCE);
}
