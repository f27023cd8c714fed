// Starts a run: writes its metadata, then launches the wrapper detached (own session,
// no inherited stdio) so neither an agent restart nor its service stop touches the run.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensurePrivateDir, writeMeta, type RunMeta, type RunPaths } from './run-files.js';

const WRAPPER = fileURLToPath(new URL('./wrapper.js', import.meta.url));

export interface LaunchSpec {
  paths: RunPaths;
  meta: RunMeta;
  env: Record<string, string>;
}

export function launchRun(spec: LaunchSpec): number | undefined {
  ensurePrivateDir(spec.paths.dir);
  ensurePrivateDir(spec.meta.cwd);
  writeMeta(spec.paths, spec.meta);
  const child = spawn(process.execPath, [WRAPPER, spec.paths.dir, spec.paths.stem], {
    detached: true,
    stdio: 'ignore',
    env: spec.env,
    cwd: spec.paths.dir,
  });
  child.unref();
  return child.pid;
}
