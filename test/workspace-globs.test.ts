// Unit tests for the pure glob matcher used by artifact collection and prune.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../lib/errors.js';
import { compileGlobs } from '../lib/workspace/index.js';

const cases: Array<[string, string, boolean]> = [
  ['*.log', 'a.log', true],
  ['*.log', 'dir/a.log', false],
  ['*.log', '.hidden.log', true],
  ['**/*.log', 'a.log', true],
  ['**/*.log', 'x/y/z/a.log', true],
  ['**/*.log', 'x/y/z/a.txt', false],
  ['out/**', 'out/a', true],
  ['out/**', 'out/a/b/c.txt', true],
  ['out/**', 'out', false],
  ['out/**', 'outer/a', false],
  ['out/', 'out/a/b', true],
  ['./out/*.json', 'out/r.json', true],
  ['a/**/b', 'a/b', true],
  ['a/**/b', 'a/x/y/b', true],
  ['a/**/b', 'a/x/y/c', false],
  ['a/**/**/b', 'a/x/b', true],
  ['**', 'anything/at/all', true],
  ['file?.txt', 'file1.txt', true],
  ['file?.txt', 'file10.txt', false],
  ['file?.txt', 'file/.txt', false],
  ['[abc].md', 'b.md', true],
  ['[abc].md', 'd.md', false],
  ['[a-c]x', 'bx', true],
  ['[!a-c]x', 'dx', true],
  ['[!a-c]x', 'ax', false],
  ['[!a]', '/', false],
  ['a[b', 'a[b', true],
  ['.env', '.env', true],
  ['.env', 'sub/.env', false],
  ['**/.env', 'sub/.env', true],
  ['id_*', 'id_rsa', true],
  ['a.b', 'axb', false],
  ['(x)+', '(x)+', true],
  ['secrets/*.key', 'secrets/a.key', true],
  ['secrets/*.key', 'secrets/deep/a.key', false],
];

describe('compileGlobs', () => {
  it.each(cases)('%s matches %s: %s', (pattern, rel, expected) => {
    expect(compileGlobs([pattern])(rel)).toBe(expected);
  });

  it('matches when any pattern matches, and nothing for no patterns', () => {
    const m = compileGlobs(['*.log', 'out/**']);
    expect(m('x.log')).toBe(true);
    expect(m('out/y')).toBe(true);
    expect(m('z.txt')).toBe(false);
    expect(compileGlobs([])('x')).toBe(false);
  });

  it.each(['/etc/passwd', '../up', 'a/../../b', 'a/..', '', '   ', 'C:\\x'])('refuses %j naming it', (pattern) => {
    expect(() => compileGlobs(['ok/**', pattern])).toThrow(InvalidInputError);
    expect(() => compileGlobs([pattern])).toThrow(JSON.stringify(pattern));
  });
});
