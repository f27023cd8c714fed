// The node's WireGuard key pair on disk: made here, kept 0600 in a 0700 dir, and handed out
// only as a file path (for `wg set ... private-key FILE`) plus the public key.

import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '../../lib/errors.js';
import { isWgKey } from '../../proto/mesh-hash.js';
import { wgTool, type WgTool } from './wg-tool.js';

export interface KeyPair {
  publicKey: string;
  privateKeyPath: string;
}

export type KeyTool = Pick<WgTool, 'genPrivateKey' | 'publicKeyOf'>;

export const KEY_FILE = 'wg.key';
export const OLD_KEY_FILE = 'wg.key.old';

/** Loads DIR/wg.key, creating it on first use; concurrent first calls agree on one key. */
export async function ensureKeyPair(dir: string, tool: KeyTool = wgTool): Promise<KeyPair> {
  await prepareDir(dir);
  const path = join(dir, KEY_FILE);
  const existing = await loadPublicKey(path, tool);
  if (existing) return { publicKey: existing, privateKeyPath: path };
  const tmp = await writeTempKey(dir, await tool.genPrivateKey());
  try {
    // link() fails if another caller got there first; then that key wins and is loaded below.
    await link(tmp, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { force: true });
  }
  await syncDir(dir);
  const publicKey = await loadPublicKey(path, tool);
  if (!publicKey) throw new InvalidInputError(`key file vanished while creating it: ${path}`);
  return { publicKey, privateKeyPath: path };
}

/**
 * Makes a new key pair; the current one is kept as DIR/wg.key.old (replacing an older one) so
 * peers can be moved over before `dropOldKeyPair`. Every step leaves a valid DIR/wg.key behind.
 */
export async function rotateKeyPair(dir: string, tool: KeyTool = wgTool): Promise<KeyPair & { previousPublicKey?: string }> {
  const current = await ensureKeyPair(dir, tool);
  const path = current.privateKeyPath;
  const tmp = await writeTempKey(dir, await tool.genPrivateKey());
  const oldTmp = join(dir, `.${OLD_KEY_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await link(path, oldTmp);
    await rename(oldTmp, join(dir, OLD_KEY_FILE));
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
    await rm(oldTmp, { force: true });
  }
  await syncDir(dir);
  const publicKey = await loadPublicKey(path, tool);
  if (!publicKey) throw new InvalidInputError(`key file vanished while rotating it: ${path}`);
  return { publicKey, privateKeyPath: path, previousPublicKey: current.publicKey };
}

/** Public key of DIR/wg.key.old, if a rotation left one. */
export async function oldPublicKey(dir: string, tool: KeyTool = wgTool): Promise<string | undefined> {
  return loadPublicKey(join(dir, OLD_KEY_FILE), tool);
}

export async function dropOldKeyPair(dir: string): Promise<void> {
  await rm(join(dir, OLD_KEY_FILE), { force: true });
  await syncDir(dir);
}

async function prepareDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; a key dir others can list is tightened.
  if (((await stat(dir)).mode & 0o077) !== 0) await chmod(dir, 0o700);
}

async function loadPublicKey(path: string, tool: KeyTool): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // Regenerating over a damaged key would silently change the node's identity: refuse instead.
  if (!isWgKey(text.trim())) throw new InvalidInputError(`key file does not hold a WireGuard key: ${path}`);
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return tool.publicKeyOf(text.trim());
}

async function writeTempKey(dir: string, privateKey: string): Promise<string> {
  if (!isWgKey(privateKey)) throw new InvalidInputError('wg genkey returned something that is not a key');
  const tmp = join(dir, `.${KEY_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${privateKey}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
