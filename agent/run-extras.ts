// What a run leaves besides its rc: KEY=VALUE outputs for later stages, the failed
// hosts of a playbook, and its artifacts (packed to a runner file first, so an upload
// interrupted by a bus outage is retried from disk; sent through the coordinator).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseEventLine } from '../proto/ansible-events.js';
import { tokenKey, type RunToken } from '../proto/names.js';
import { ErrorCode, isMeshrunError } from '../lib/errors.js';
import { Limits } from '../lib/limits.js';
import type { Logger } from '../lib/log.js';
import { initialProgress, reduceProgress } from '../lib/playbook-progress.js';
import { collectArtifacts } from '../lib/workspace/index.js';
import { isRefusedForGood, type BlobClient } from './blob-client.js';
import type { RunExtras } from './run-supervisor.js';
import type { RunPaths } from './runner/paths.js';

const MAX_OUTPUT_BYTES = 64 * 1024;
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Pure: `KEY=VALUE` lines; blank lines and `#` comments skipped, bad keys ignored. */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.replace(/\r$/, '');
    if (t.trim() === '' || t.trimStart().startsWith('#')) continue;
    const i = t.indexOf('=');
    if (i <= 0) continue;
    const key = t.slice(0, i).trim();
    if (KEY_RE.test(key)) out[key] = t.slice(i + 1);
  }
  return out;
}

export function readOutputs(paths: RunPaths): Record<string, string> {
  if (!existsSync(paths.output)) return {};
  return parseOutputs(readFileSync(paths.output).subarray(0, MAX_OUTPUT_BYTES).toString('utf8'));
}

export function readFailures(paths: RunPaths): RunExtras['failures'] {
  if (!existsSync(paths.events)) return [];
  let state = initialProgress();
  for (const line of readFileSync(paths.events, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = parseEventLine(line);
    if (r.ok) state = reduceProgress(state, r.event);
  }
  return state.failures.map((f) => ({ host: f.host, task: f.task, msg: f.msg }));
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
      const c = await collectArtifacts(paths.work, globs, { maxBytes: Limits.artifactsMaxBytes });
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
