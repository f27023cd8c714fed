// The one mapping between meshrun's error codes and gRPC statuses: the coordinator's handlers
// turn a thrown error into a status, the CLI's client turns a status back into a code.
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, isMeshrunError } from './errors.js';

const STATUS_OF: Record<ErrorCode, grpc.status> = {
  [ErrorCode.Usage]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.InvalidInput]: grpc.status.INVALID_ARGUMENT,
  // the request names something meshrun refuses; sending it again will not help
  [ErrorCode.Unsafe]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: grpc.status.NOT_FOUND,
  // every conflict is a state the request needs and the system is not in (mesh off, node not
  // ready, CIDR full, key owned by another member); nothing is "created twice" (Submit is idempotent)
  [ErrorCode.Conflict]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.TooLarge]: grpc.status.RESOURCE_EXHAUSTED,
  [ErrorCode.Unreachable]: grpc.status.UNAVAILABLE,
  [ErrorCode.Unauthenticated]: grpc.status.UNAUTHENTICATED,
  [ErrorCode.Denied]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.ToolFailed]: grpc.status.INTERNAL,
  [ErrorCode.Internal]: grpc.status.INTERNAL,
};

/** A thrown error as the status a handler sends: a MeshrunError by its code, anything else INTERNAL. */
export function toGrpcStatus(err: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  if (isMeshrunError(err)) return { code: STATUS_OF[err.code] ?? grpc.status.INTERNAL, details: err.message };
  return { code: grpc.status.INTERNAL, details: (err as Error | undefined)?.message ?? String(err) };
}

/** The error code a client reads from a status (the inverse of toGrpcStatus, plus transport failures). */
export function errorCodeOfStatus(code: grpc.status): ErrorCode {
  switch (code) {
    case grpc.status.INVALID_ARGUMENT:
      return ErrorCode.InvalidInput;
    case grpc.status.NOT_FOUND:
      return ErrorCode.NotFound;
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.ALREADY_EXISTS:
    case grpc.status.ABORTED:
      return ErrorCode.Conflict;
    case grpc.status.RESOURCE_EXHAUSTED:
      return ErrorCode.TooLarge;
    case grpc.status.UNAUTHENTICATED:
      return ErrorCode.Unauthenticated;
    case grpc.status.PERMISSION_DENIED:
      return ErrorCode.Denied;
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return ErrorCode.Unreachable;
    default:
      return ErrorCode.Internal;
  }
}
