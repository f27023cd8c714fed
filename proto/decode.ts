// One way to read a message off the wire: bytes (or a string) -> JSON -> zod schema,
// never throwing. Every NATS subscriber and KV reader goes through here, so a bad
// message is always reported the same way, naming the field that is wrong.
import type { z } from 'zod';
import { formatIssues, type Parsed } from './validation.js';

const utf8 = new TextDecoder();

/** Parses `data` as JSON and validates it; `errors` names the fields (or says it is not JSON). */
export function decode<T>(schema: z.ZodType<T>, data: Uint8Array | string): Parsed<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : utf8.decode(data));
  } catch (err) {
    return { ok: false, errors: [`not JSON: ${(err as Error).message}`] };
  }
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: formatIssues(r.error) };
}
