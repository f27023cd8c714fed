// What a run leaves besides its rc: KEY=VALUE outputs for later stages, the failed
// hosts of a playbook, and its artifacts (packed to a runner file first, so an upload
// interrupted by a bus outage is retried from disk; sent through the coordinator).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseEventLine } from '../proto/ansible-events.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { ErrorCode, isMeshrunError } from '../lib/errors.js';
import { clip, Limits } from '../lib/limits.js';
import { admitOutputs } from '../proto/outputs.js';
import type { Logger } from '../lib/log.js';
import { initialProgress, reduceProgress } from '../lib/playbook-progress.js';
import { collectArtifacts } from '../lib/workspace/index.js';
import { isRefusedForGood, type BlobClient } from './blob-client.js';
import type { RunExtras } from './run-supervisor.js';
import type { RunPaths } from './runner/paths.js';
import { readMeta } from './runner/run-files.js';

/** Read of $MESHRUN_OUTPUT: a little past the limit, so going over it is seen and named. */
const MAX_OUTPUT_READ_BYTES = 4 * Limits.stageOutputsMaxBytes;

/**
 * Pure: `KEY=VALUE` lines; blank lines and `#` comments skipped. Keys that are no name or are
 * reserved (PATH, LD_*, MESHRUN_*...) and outputs past the limits are dropped, and said so.
 */
export function parseOutputsChecked(text: string): { outputs: Record<string, string>; dropped: string[] } {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.replace(/\r$/, '');
    if (t.trim() === '' || t.trimStart().startsWith('#')) continue;
    const i = t.indexOf('=');
    if (i <= 0) continue;
    out[t.slice(0, i).trim()] = t.slice(i + 1);
  }
  return admitOutputs(out);
}

/** Pure: the outputs `parseOutputsChecked` admits. */
export function parseOutputs(text: string): Record<string, string> {
  return parseOutputsChecked(text).outputs;
}

export function readOutputs(paths: RunPaths, log?: Logger): Record<string, string> {
  if (!existsSync(paths.output)) return {};
  const { outputs, dropped } = parseOutputsChecked(readFileSync(paths.output).subarray(0, MAX_OUTPUT_READ_BYTES).toString('utf8'));
  if (dropped.length > 0) log?.warn('run outputs dropped', { output: paths.output, dropped: dropped.slice(0, 5), count: dropped.length });
  return outputs;
}

export function readFailures(paths: RunPaths): RunExtras['failures'] {
  if (!existsSync(paths.events)) return [];
  let state = initialProgress();
  for (const line of readFileSync(paths.events, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = parseEventLine(line);
    if (r.ok) state = reduceProgress(state, r.event);
  }
  return state.failures.slice(0, Limits.failuresMax).map((f) => ({
    host: clip(f.host, Limits.failureNameMaxChars, 'failureNameMaxChars'),
    task: clip(f.task, Limits.failureNameMaxChars, 'failureNameMaxChars'),
    msg: clip(f.msg, Limits.failureMessageMaxChars, 'failureMessageMaxChars'),
  }));
}

/**
 * Packs the run's artifacts (once, to a runner file) and stores them through the coordinator.
 * Rejects while that may still work (bus away, coordinator busy): the exit report waits and
 * retries. When it never can (too large, unsafe globs, the run is no longer this node's),
 * the exit is reported without artifacts rather than never.
 */
export async function storeArtifacts(blobs: Pick<BlobClient, 'putArtifacts'>, token: RunToken, paths: RunPaths, globs: string[], log: Logger): Promise<RunExtras['artifacts']> {
  if (globs.length === 0) return null;
  const file = `${paths.dir}/${paths.stem}.artifacts.tar.gz`;
  const index = `${file}.json`;
  try {
    if (!existsSync(index)) {
      const c = await collectArtifacts(paths.work, globs, { maxBytes: Limits.artifactsMaxBytes, exclude: readMeta(paths)?.prune ?? [] });
      writeFileSync(file, c.archive, { mode: 0o600 });
      writeFileSync(index, JSON.stringify({ sha256: c.sha256, files: c.files }), { mode: 0o600 });
    }
    const { sha256, files } = JSON.parse(readFileSync(index, 'utf8')) as { sha256: string; files: string[] };
    const { object } = await blobs.putArtifacts(token, readFileSync(file), sha256);
    return { object, sha256, files };
  } catch (err) {
    if (!isRefusedForGood(err) && !(isMeshrunError(err) && PERMANENT.has(err.code))) throw err;
    log.warn('artifacts not stored: the exit is reported without them', { token: tokenKey(token), error: (err as Error).message });
    return null;
  }
}

/** Collection errors that no retry mends. */
const PERMANENT: ReadonlySet<string> = new Set([ErrorCode.TooLarge, ErrorCode.InvalidInput, ErrorCode.Unsafe]);
