// Path rules shared by packing and unpacking, so meshrun never packs what it would refuse
// to unpack: entry paths stay relative without `..`, symlink targets stay inside the tree.
import { UnsafePathError } from '../errors.js';

/**
 * Normalise an archive entry path to `a/b/c` (no `.`, no empty segments; '' is the root).
 * Refuses absolute paths, `..` segments and NUL bytes, naming the entry.
 */
export function normalizeEntryPath(raw: string): string {
  const refuse = (why: string): never => {
    throw new UnsafePathError(`refusing archive entry ${JSON.stringify(raw)}: ${why}`);
  };
  if (raw.includes('\0')) refuse('path contains a NUL byte');
  if (raw.startsWith('/')) refuse('absolute path');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse('path contains a ".." component');
  return parts.join('/');
}

/**
 * Check that the symlink at `linkPath` (normalised, relative to the tree root) with `target`
 * resolves inside the tree. Lexical checking alone is not enough: in `b/../x`, if `b` is itself
 * a symlink the kernel follows it before applying `..`. So a target may only climb (`..`)
 * first and then descend; every climb starts from the link's real parent directory, and the
 * unpacker never creates entries beneath a symlink, so such targets can only land inside.
 */
export function checkLinkTarget(linkPath: string, target: string): void {
  const refuse = (why: string): never => {
    throw new UnsafePathError(`refusing symlink ${JSON.stringify(linkPath)} -> ${JSON.stringify(target)}: ${why}`);
  };
  if (target === '') refuse('empty target');
  if (target.includes('\0')) refuse('target contains a NUL byte');
  if (target.startsWith('/')) refuse('absolute target (only relative links inside the workspace are allowed)');
  let depth = linkPath.split('/').length - 1; // directories between the root and the link
  let descended = false;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (descended) refuse('".." after a directory name could climb out through another symlink; use a normalised target');
      depth -= 1;
      if (depth < 0) refuse('target points outside the workspace');
    } else {
      descended = true;
      depth += 1;
    }
  }
}
