// Public API of lib/workspace: packing and safely unpacking workspaces, stage artifacts,
// prune globs. Other packages import from here, never from the modules behind it.
export { packWorkspace } from './pack.js';
export { unpackWorkspace } from './unpack.js';
export { compileGlobs, globToRegExp } from './globs.js';
export { collectArtifacts, extractArtifacts, pruneFiles, ARTIFACT_LIMITS } from './artifacts.js';
export { TooLargeError, isTooLarge } from './limits.js';

export type { PackOptions, PackResult } from './pack.js';
export type { UnpackOptions, UnpackResult } from './unpack.js';
export type { GlobMatcher } from './globs.js';
export type { CollectOptions, CollectResult } from './artifacts.js';
