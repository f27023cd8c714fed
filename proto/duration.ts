// Durations as written by people ("90s", "5m", "1h30m", "250ms", or a number of
// seconds) parsed once into milliseconds. Free of zod, which would double the CLI's
// start-up just to print a default in its help; the schema field is in duration-schema.ts.
import { ErrorCode, MeshrunError } from '../lib/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : undefined;
  const s = input.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(PART_RE)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    consumed += m[0].length;
  }
  return consumed === s.length && consumed > 0 ? Math.round(total) : undefined;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000 - 500) {
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)}m${s % 60}s`;
  }
  const m = Math.round(ms / 60_000);
  return `${Math.floor(m / 60)}h${m % 60}m`;
}

/** A duration flag of a daemon (`--lease 2s`): undefined when not given, a usage error naming the flag when unreadable. */
export function durationFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (ms === undefined) throw new MeshrunError(ErrorCode.Usage, `--${name} ${v}: expected a duration like 500ms, 2s or 1m`);
  return ms;
}
