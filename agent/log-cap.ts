// A run's log is relayed up to `logMaxBytesPerRun`; what it writes past that stays on the
// node. The cut is never silent: the relayed log ends with a line naming the limit.

import { logTruncatedLine } from '../lib/limits.js';

export { logTruncatedLine };

/**
 * Pure: what of the log chunk at `offset` is relayed under a cap of `max` bytes: `head` (the
 * bytes below the cap) and, for the one chunk that reaches past it, `marker` (published at
 * offset `max`). Chunks wholly past the cap relay nothing.
 */
export function capLogChunk(offset: number, data: Uint8Array, max: number): { head: Uint8Array; marker: Uint8Array | undefined } {
  const end = offset + data.length;
  if (end <= max) return { head: data, marker: undefined };
  if (offset > max) return { head: data.subarray(0, 0), marker: undefined };
  return { head: data.subarray(0, max - offset), marker: Buffer.from(logTruncatedLine(max)) };
}
