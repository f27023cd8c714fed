// The one mapping between meshrun's error codes and gRPC statuses: the coordinator's handlers
// turn a thrown error into a status, the CLI's client turns a status back into a code.
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode, isMeshrunError, MeshrunError } from './errors.js';
import { isTransientBusError } from './bus-errors.js';

/**
 * gRPC's status codes, fixed by its protocol, here so that mapping one does not load grpc-js:
 * the CLI's read commands answer without it (cli/h2-channel.ts). Equal to grpc.status (a unit test says so).
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const satisfies Record<keyof typeof grpc.status, number>;
const status = GrpcStatus as unknown as typeof grpc.status;

const STATUS_OF: Record<ErrorCode, grpc.status> = {
  [ErrorCode.Usage]: status.INVALID_ARGUMENT,
  [ErrorCode.InvalidInput]: status.INVALID_ARGUMENT,
  // the request names something meshrun refuses; sending it again will not help
  [ErrorCode.Unsafe]: status.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: status.NOT_FOUND,
  // every conflict is a state the request needs and the system is not in (mesh off, node not
  // ready, CIDR full, key owned by another member); nothing is "created twice" (Submit is idempotent)
  [ErrorCode.Conflict]: status.FAILED_PRECONDITION,
  [ErrorCode.TooLarge]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.Unreachable]: status.UNAVAILABLE,
  [ErrorCode.Unauthenticated]: status.UNAUTHENTICATED,
  [ErrorCode.Denied]: status.PERMISSION_DENIED,
  [ErrorCode.ToolFailed]: status.INTERNAL,
  [ErrorCode.Internal]: status.INTERNAL,
};

/** How an UNAVAILABLE answer from a coordinator whose bus does not answer begins (the client waits, then tries again). */
export const BUS_UNAVAILABLE = "the coordinator's bus (JetStream) does not answer";

/**
 * "Not now, nothing written": the coordinator could not reach its bus, or cannot confirm its lead
 * because its lease renewals do not land. A client may ask again (UNAVAILABLE, isBusUnavailable).
 */
export function busUnavailable(why: string): MeshrunError {
  return new MeshrunError(ErrorCode.Unreachable, `${BUS_UNAVAILABLE} right now: ${why}; try again`);
}

/** A coordinator answered, but its bus did not: a cluster electing, a server restarting. */
export function isBusUnavailable(err: { code: number; details?: string }): boolean {
  return err.code === status.UNAVAILABLE && (err.details ?? '').startsWith(BUS_UNAVAILABLE);
}

/** A thrown error as the status a handler sends: a MeshrunError by its code, anything else INTERNAL. */
export function toGrpcStatus(err: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  if (isMeshrunError(err)) return { code: STATUS_OF[err.code] ?? status.INTERNAL, details: err.message };
  // the bus does not answer right now (a cluster electing after a server went away): the
  // client may try again, at this coordinator or the next address
  if (isTransientBusError(err)) return { code: status.UNAVAILABLE, details: `${BUS_UNAVAILABLE} right now: ${(err as Error).message}; try again` };
  return { code: status.INTERNAL, details: (err as Error | undefined)?.message ?? String(err) };
}

/** The error code a client reads from a status (the inverse of toGrpcStatus, plus transport failures). */
export function errorCodeOfStatus(code: number): ErrorCode {
  switch (code) {
    case status.INVALID_ARGUMENT:
      return ErrorCode.InvalidInput;
    case status.NOT_FOUND:
      return ErrorCode.NotFound;
    case status.FAILED_PRECONDITION:
    case status.ALREADY_EXISTS:
    case status.ABORTED:
      return ErrorCode.Conflict;
    case status.RESOURCE_EXHAUSTED:
      return ErrorCode.TooLarge;
    case status.UNAUTHENTICATED:
      return ErrorCode.Unauthenticated;
    case status.PERMISSION_DENIED:
      return ErrorCode.Denied;
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return ErrorCode.Unreachable;
    default:
      return ErrorCode.Internal;
  }
}
