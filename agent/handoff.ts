// The handoff marker: when a job moves on to a stage on another node, the earlier
// run's directory gets <stem>.remote.env saying where the next runner lives.
import type { HandoffCommand } from '../proto/bus.js';
import type { RunPaths } from './runner/paths.js';
import { writeFileAtomic } from '../lib/write-file-atomic.js';

/** Pure: shell-sourceable, every value single-quoted. */
export function renderRemoteEnv(remote: HandoffCommand['remote']): string {
  const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
  const vars: [string, string][] = [
    ['MESHRUN_REMOTE_NODE', remote.node],
    ['MESHRUN_REMOTE_RUN_DIR', remote.runDir],
    ['MESHRUN_REMOTE_LOG', remote.log],
    ['MESHRUN_REMOTE_JOB_ID', remote.token.job],
    ['MESHRUN_REMOTE_STAGE', remote.token.stage],
    ['MESHRUN_REMOTE_ATTEMPT', String(remote.token.attempt)],
  ];
  return `# written by meshrun: the job continues on ${remote.node}\n${vars.map(([k, v]) => `${k}=${q(v)}`).join('\n')}\n`;
}

export function writeHandoffMarker(paths: RunPaths, remote: HandoffCommand['remote']): void {
  writeFileAtomic(paths.remoteEnv, renderRemoteEnv(remote));
}
