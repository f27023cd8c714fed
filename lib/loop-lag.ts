// A daemon's event loop held up: heartbeats go unanswered and leases run out while it is
// stuck, so a stall long enough to matter is logged with its length (the first place to look
// when runs were fenced for no visible reason).
import type { Logger } from './log.js';

const TICK_MS = 100;

/** Logs a warning whenever a timer fires `thresholdMs` or more late; returns the stop function. */
export function watchLoopLag(log: Logger, thresholdMs: number): () => void {
  let expected = Date.now() + TICK_MS;
  const timer = setInterval(() => {
    const now = Date.now();
    const lag = now - expected;
    expected = now + TICK_MS;
    if (lag >= thresholdMs) log.warn('event loop stalled: timers and heartbeat replies were held up', { stalledMs: lag, thresholdMs });
  }, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
