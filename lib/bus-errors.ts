// Errors of a bus that does not answer yet (a cluster electing a leader, a server restarting),
// by class name and JetStream's own "temporarily unavailable": kept apart from lib/nats.ts so
// that the CLI's error mapping can tell them without loading a NATS client.

const TRANSIENT_BUS_ERRORS = new Set(['TimeoutError', 'JetStreamNotEnabled', 'NoRespondersError', 'RequestError', 'ConnectionError', 'ClosedConnectionError']);

export function isTransientBusError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return TRANSIENT_BUS_ERRORS.has(err.name) || /JetStream system temporarily unavailable/i.test(err.message);
}

/**
 * JetStream cannot place a replicated stream yet: a cluster whose meta leader does not know
 * enough servers (forming, or one down) - or fewer servers than `--replicas` asks for, which
 * the start-up log names so that the operator sees it.
 */
export function isPlacementPending(err: unknown): boolean {
  return err instanceof Error && /no suitable peers for placement/i.test(err.message);
}
