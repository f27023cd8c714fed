// Decides which workspace paths are left out of a pack: `.git` always, then `.meshrunignore`
// at the root, then `.gitignore` files with git's precedence (the deepest file speaks first).
import fs from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

interface Layer {
  /** Directory the rules are relative to ('' for the workspace root). */
  base: string;
  rules: Ignore;
}

export const MESHRUNIGNORE = '.meshrunignore';

/**
 * Layered ignore rules. `.meshrunignore` is checked first so it can both drop tracked files
 * and re-include (`!pattern`) gitignored ones that a run needs (e.g. a generated inventory);
 * as in git, nothing inside an excluded directory can be re-included, because the walk
 * never enters it.
 */
export class IgnoreRules {
  readonly #gitLayers: Layer[] = [];
  #meshrun: Ignore | undefined;

  static async load(root: string): Promise<IgnoreRules> {
    const rules = new IgnoreRules();
    const text = await readRulesFile(path.join(root, MESHRUNIGNORE));
    if (text !== undefined) rules.#meshrun = makeIgnore(text);
    return rules;
  }

  /** Call when the walk enters directory `rel`: loads its `.gitignore`, if any. */
  async enterDir(rel: string, abs: string): Promise<void> {
    const text = await readRulesFile(path.join(abs, '.gitignore'));
    if (text !== undefined) this.#gitLayers.push({ base: rel, rules: makeIgnore(text) });
  }

  ignores(rel: string, isDir: boolean): boolean {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (name === '.git') return true; // a directory, or a file in worktrees and submodules
    const verdict = (rules: Ignore, relToBase: string): boolean | undefined => {
      const r = rules.test(isDir ? `${relToBase}/` : relToBase);
      return r.ignored ? true : r.unignored ? false : undefined;
    };
    if (this.#meshrun) {
      const v = verdict(this.#meshrun, rel);
      if (v !== undefined) return v;
    }
    for (let i = this.#gitLayers.length - 1; i >= 0; i--) {
      const layer = this.#gitLayers[i] as Layer;
      if (layer.base !== '' && !rel.startsWith(`${layer.base}/`)) continue;
      const v = verdict(layer.rules, layer.base === '' ? rel : rel.slice(layer.base.length + 1));
      if (v !== undefined) return v;
    }
    return false;
  }
}

// Git matches case-sensitively on Linux; `ignore` defaults to case-insensitive.
function makeIgnore(text: string): Ignore {
  return ignore({ ignorecase: false }).add(text);
}

/** Rules are read only from regular files: a symlinked .gitignore could point anywhere. */
async function readRulesFile(file: string): Promise<string | undefined> {
  try {
    const st = await fs.lstat(file);
    return st.isFile() ? await fs.readFile(file, 'utf8') : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
