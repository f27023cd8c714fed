// Turns zod issues into one line per problem that names the field the way a user
// wrote it (`stages[1].run.command: expected an array of strings`).
import type { z } from 'zod';

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** Issues of classic zod's ZodError and of zod/mini's alike. */
export function formatIssues(error: { issues: readonly z.core.$ZodIssue[] }, prefix = ''): string[] {
  return error.issues.map((i) => {
    const path = formatPath([...(prefix ? [prefix] : []), ...i.path]);
    let message = i.message;
    if (i.code === 'invalid_key' && i.issues.length > 0) message = i.issues.map((x) => x.message).join('; ');
    if (i.code === 'unrecognized_keys') message = `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    return path ? `${path}: ${message}` : message;
  });
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export function parseWith<T>(schema: z.ZodType<T>, input: unknown, prefix = ''): Parsed<T> {
  const r = schema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: formatIssues(r.error, prefix) };
}
