// Starts a run: writes its metadata, then launches the wrapper detached (own session,
// no inherited stdio) so neither an agent restart nor its service stop touches the run.
// A run without secrets gets the shell wrapper (a shell start); one with secrets the Node
// wrapper, which pipes its output through the masker.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensurePrivateDir, writeMeta, type RunMeta, type RunPaths } from './run-files.js';
import { SH_WRAPPER, SH_WRAPPER_NAME, shWrapperUsable } from './sh-wrapper.js';

const WRAPPER = fileURLToPath(new URL('./wrapper.js', import.meta.url));

export interface LaunchSpec {
  paths: RunPaths;
  meta: RunMeta;
  env: Record<string, string>;
}

export function launchRun(spec: LaunchSpec): number | undefined {
  const { paths, meta } = spec;
  ensurePrivateDir(paths.dir);
  ensurePrivateDir(meta.cwd);
  writeMeta(paths, meta);
  const [file, args] =
    meta.maskFile === null && shWrapperUsable()
      ? ['/bin/sh', ['-c', SH_WRAPPER, SH_WRAPPER_NAME, paths.dir, paths.stem, meta.cwd, meta.cgroup ?? '', ...meta.removeOnExit, '--', ...meta.argv]]
      : [process.execPath, [WRAPPER, paths.dir, paths.stem]];
  const child = spawn(file, args, { detached: true, stdio: 'ignore', env: spec.env, cwd: paths.dir });
  child.unref();
  return child.pid;
}
