// Key files with the real `wg` tool: created 0600 in a 0700 dir, stable across calls,
// rotation keeps the previous key until dropped, and only paths and public keys come back.

import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropOldKeyPair, ensureKeyPair, oldPublicKey, rotateKeyPair } from '../agent/wg/keys.js';
import { wgTool } from '../agent/wg/wg-tool.js';
import { InvalidInputError } from '../lib/errors.js';
import { requireTools } from './fleet/netns.js';

// Needs only `wg` on PATH, not root: skipped with a reason locally, failed in CI.
const cap = requireTools(['wg']);

describe.skipIf(!cap.ok)(`keys (${cap.reason})`, () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'meshrun-keys-'));
    dir = join(root, 'wg');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates a 0600 key in a 0700 dir and loads the same one later', async () => {
    const first = await ensureKeyPair(dir);
    expect(first.privateKeyPath).toBe(join(dir, 'wg.key'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(first.privateKeyPath)).mode & 0o777).toBe(0o600);
    const priv = (await readFile(first.privateKeyPath, 'utf8')).trim();
    expect(await wgTool.publicKeyOf(priv)).toBe(first.publicKey);
    expect(JSON.stringify(first)).not.toContain(priv);
    expect(await ensureKeyPair(dir)).toEqual(first);
  });

  it('lets concurrent first calls agree on one key', async () => {
    const pairs = await Promise.all([1, 2, 3, 4].map(() => ensureKeyPair(dir)));
    expect(new Set(pairs.map((p) => p.publicKey)).size).toBe(1);
  });

  it('rotates, keeping the previous key as wg.key.old until dropped', async () => {
    const first = await ensureKeyPair(dir);
    const second = await rotateKeyPair(dir);
    expect(second.publicKey).not.toBe(first.publicKey);
    expect(second.previousPublicKey).toBe(first.publicKey);
    expect(await oldPublicKey(dir)).toBe(first.publicKey);
    expect((await stat(join(dir, 'wg.key.old'))).mode & 0o777).toBe(0o600);
    expect((await ensureKeyPair(dir)).publicKey).toBe(second.publicKey);
    await dropOldKeyPair(dir);
    expect(await oldPublicKey(dir)).toBeUndefined();
  });

  it('tightens loose permissions and refuses a damaged key instead of replacing it', async () => {
    const first = await ensureKeyPair(dir);
    await chmod(first.privateKeyPath, 0o644);
    await chmod(dir, 0o755);
    expect(await ensureKeyPair(dir)).toEqual(first);
    expect((await stat(first.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await writeFile(first.privateKeyPath, 'garbage\n');
    await expect(ensureKeyPair(dir)).rejects.toBeInstanceOf(InvalidInputError);
    expect(await readFile(first.privateKeyPath, 'utf8')).toBe('garbage\n');
  });
});
