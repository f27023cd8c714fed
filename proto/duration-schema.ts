// The duration field of config files and job specs: "30s"-style strings or seconds in,
// milliseconds out (parsing itself is in duration.ts, which stays free of zod).
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** A duration field: accepts "30s"-style strings or seconds, yields milliseconds. */
export const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "30s", "5m" or "1h30m", got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});
