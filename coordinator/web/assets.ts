// The dashboard's files (coordinator/web/assets/: HTML, one script, one stylesheet), read once at
// start from the package, never fetched from elsewhere. Like the Ansible callback plugin, they
// stay in the source tree and are found from the package root, from src (vitest) and dist alike.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MeshrunError } from '../../lib/errors.js';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export function assetsDir(from: string = import.meta.url): string {
  for (let dir = dirname(fileURLToPath(from)); ; ) {
    if (existsSync(join(dir, 'package.json'))) {
      const assets = join(dir, 'coordinator', 'web', 'assets');
      if (!existsSync(join(assets, 'index.html'))) throw new MeshrunError(ErrorCode.Internal, `the dashboard's files are missing from ${assets}`);
      return assets;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new MeshrunError(ErrorCode.Internal, `no package.json above ${fileURLToPath(from)}`);
    dir = parent;
  }
}

export function loadAssets(dir = assetsDir()): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    out.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return out;
}
