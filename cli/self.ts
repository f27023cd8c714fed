// How to start this same meshrun again as a child process (dev fleet, systemd units).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'meshrun.js'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the meshrun installation (bin/meshrun.js)');
}

/** [node, /path/to/bin/meshrun.js] */
export function selfCommand(): [string, string] {
  return [process.execPath, resolve(packageRoot(), 'bin', 'meshrun.js')];
}
