// The lifecycle every long-running part shares: a named state with a logged setter,
// a close that runs once however often it is called, and a queue that runs steps one
// at a time in order (a failed step is logged and does not stop the next one).
import type { Logger } from './log.js';

export class Lifecycle<S extends string> {
  private current: S;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly what: string,
    initial: S,
    private readonly log: Logger,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  set(state: S): void {
    this.current = state;
    this.log.info(`${this.what} state changed`, { state });
  }

  /** Runs `fn` on the first call only; every call gets the same promise. */
  closeOnce(fn: () => Promise<void>): Promise<void> {
    this.closing ??= fn();
    return this.closing;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }
}

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: Logger,
    private readonly failMsg = 'step failed',
  ) {}

  /** Runs `fn` after every step queued before it; its result (or error) is the caller's. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch((err) => this.log.error(this.failMsg, { err }));
    return p;
  }

  /** Resolves once every step queued so far has finished. */
  idle(): Promise<void> {
    return this.tail.then(
      () => undefined,
      () => undefined,
    );
  }
}
