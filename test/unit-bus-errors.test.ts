// Which errors say "the bus does not answer right now": a client is told to try again
// (UNAVAILABLE), not handed an internal error.
import { describe, expect, it } from 'vitest';
import { isPlacementPending, isTransientBusError } from '../lib/bus-errors.js';
import { toGrpcStatus } from '../lib/grpc-status.js';

const named = (name: string, message = 'x'): Error => Object.assign(new Error(message), { name });

describe('transient bus errors', () => {
  it('a timeout, no responders and JetStream "temporarily unavailable" are transient; others are not', () => {
    expect(isTransientBusError(named('TimeoutError'))).toBe(true);
    expect(isTransientBusError(named('JetStreamNotEnabled'))).toBe(true);
    expect(isTransientBusError(named('JetStreamApiError', 'JetStream system temporarily unavailable'))).toBe(true);
    expect(isTransientBusError(named('JetStreamApiError', 'wrong last sequence: 4'))).toBe(false);
    expect(isTransientBusError(new TypeError('x is undefined'))).toBe(false);
  });

  it('a cluster that cannot place replicas yet is told apart from other API errors', () => {
    expect(isPlacementPending(named('JetStreamApiError', 'no suitable peers for placement'))).toBe(true);
    expect(isPlacementPending(named('JetStreamApiError', 'insufficient resources'))).toBe(false);
    expect(isPlacementPending(named('TimeoutError'))).toBe(false);
  });

  it('maps to UNAVAILABLE with a message to try again; anything else stays internal', () => {
    expect(toGrpcStatus(named('JetStreamApiError', 'JetStream system temporarily unavailable'))).toMatchObject({ code: 14, details: expect.stringMatching(/does not answer right now.*try again/) });
    expect(toGrpcStatus(new TypeError('x is undefined')).code).toBe(13);
  });
});
