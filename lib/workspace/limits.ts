// The TooLarge error used by pack, unpack and artifact collection, with sizes spelled out
// so an operator can tell at a glance how far over the limit a tree is.
import { ErrorCode, InvalidInputError, MeshrunError } from '../errors.js';

export class TooLargeError extends MeshrunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.TooLarge, message, options);
    this.name = 'TooLargeError';
  }
}

export function isTooLarge(err: unknown): err is TooLargeError {
  return err instanceof MeshrunError && err.code === ErrorCode.TooLarge;
}

/** `12.3 MiB (12897484 bytes)`: human scale plus the exact figure for comparison. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const human = u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
  return `${human} (${n} bytes)`;
}

export function checkLimit(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}
