// Exponential backoff for retry loops: the delay doubles from `initialMs` up to `maxMs`
// and starts again from `initialMs` after a success (`reset`).

export interface BackoffOptions {
  /** @default 250 */
  initialMs?: number;
  /** @default 5000 */
  maxMs?: number;
  /** @default 2 */
  factor?: number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private failures = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 250;
    this.maxMs = opts.maxMs ?? 5000;
    this.factor = opts.factor ?? 2;
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    const d = this.peek();
    this.failures += 1;
    return d;
  }

  /** The delay `next()` would return, without counting a failure. */
  peek(): number {
    return Math.min(this.maxMs, this.initialMs * this.factor ** this.failures);
  }

  get attempts(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }

  /** Waits out the next delay; resolves early when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void> {
    return sleep(this.next(), signal);
  }
}

/** setTimeout as a promise; resolves early (never rejects) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
