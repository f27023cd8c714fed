// Pure glob matching for artifact and prune patterns, matched against '/'-separated paths
// relative to a run directory. Node 20 has no fs.glob, and we want no filesystem access here.
//
// Semantics (deliberately small, documented for job-file authors):
//  - a pattern matches the whole relative path: `*.log` matches `a.log` only at the top,
//    use `**/*.log` for any depth;
//  - `*` matches any run of characters except `/` (dotfiles included: prune must catch `.env`);
//  - `?` matches one character except `/`; `[abc]`, `[a-z]`, `[!x]` are character classes;
//  - `**` as a whole segment matches zero or more directories; `dir/**` and `dir/` match
//    everything below `dir`;
//  - a leading `./` is dropped; absolute patterns and `..` segments are refused.
import { InvalidInputError } from '../errors.js';

export type GlobMatcher = (relPath: string) => boolean;

/** Compile patterns once; the matcher returns true when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): GlobMatcher {
  const regexes = patterns.map(globToRegExp);
  return (relPath) => regexes.some((re) => re.test(relPath));
}

/** Validate and translate one pattern; throws InvalidInputError naming the pattern. */
export function globToRegExp(pattern: string): RegExp {
  const segments = validateGlob(pattern);
  let re = '';
  let needSlash = false;
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '**') {
      if (last) {
        re += i === 0 ? '.*' : '/.+';
      } else {
        re += (needSlash ? '/' : '') + '(?:[^/]+/)*';
        needSlash = false;
        return;
      }
    } else {
      re += (needSlash ? '/' : '') + segmentToRegExp(seg);
    }
    needSlash = true;
  });
  return new RegExp(`^${re}$`, 's');
}

function validateGlob(pattern: string): string[] {
  const bad = (why: string): never => {
    throw new InvalidInputError(`invalid glob ${JSON.stringify(pattern)}: ${why}`);
  };
  if (typeof pattern !== 'string' || pattern.trim() === '') bad('empty pattern');
  if (pattern.includes('\0')) bad('contains a NUL byte');
  if (pattern.startsWith('/') || /^[A-Za-z]:[\\/]/.test(pattern)) bad('absolute patterns are not allowed, use a path relative to the run directory');
  let body = pattern;
  while (body.startsWith('./')) body = body.slice(2);
  // `dir/` reads naturally as "everything in dir".
  if (body.endsWith('/')) body += '**';
  const segments = body.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) bad('".." segments are not allowed');
  if (segments.length === 0) bad('matches nothing');
  // `**/**` is the same as `**`; collapsing keeps the regex linear.
  return segments.filter((s, i) => !(s === '**' && segments[i - 1] === '**'));
}

function segmentToRegExp(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === '*') {
      while (seg[i + 1] === '*') i++; // `a**b` inside a segment is just `*`
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const cls = readClass(seg, i);
      if (cls) {
        out += cls.re;
        i = cls.end;
      } else {
        out += '\\[';
      }
    } else {
      out += escapeRegExp(c);
    }
  }
  return out;
}

// Parses `[...]` starting at `start`; returns null when unterminated so `[` is literal.
function readClass(seg: string, start: number): { re: string; end: number } | null {
  let i = start + 1;
  let negate = false;
  if (seg[i] === '!' || seg[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  // A `]` right after the opening bracket is a literal member, as in POSIX.
  if (seg[i] === ']') {
    body += '\\]';
    i++;
  }
  for (; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === ']') {
      if (body === '') return null;
      // A class never matches `/`, negated or not, so it cannot cross segments.
      return { re: negate ? `[^/${body}]` : `(?!/)[${body}]`, end: i };
    }
    body += c === '-' ? '-' : escapeRegExp(c);
  }
  return null;
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|\/-]/.test(c) ? `\\${c}` : c;
}
