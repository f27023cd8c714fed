// Error classes with stable codes; the CLI maps codes to exit codes and one clear line.

export const ErrorCode = {
  Usage: 'USAGE',
  InvalidInput: 'INVALID_INPUT',
  Unreachable: 'UNREACHABLE',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  ToolFailed: 'TOOL_FAILED',
  Unsafe: 'UNSAFE',
  TooLarge: 'TOO_LARGE',
  /** The caller proved no identity (no valid, registered credential). */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The caller is known, its role does not allow the call. */
  Denied: 'DENIED',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class MeshrunError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MeshrunError';
    this.code = code;
  }
}

export class InvalidInputError extends MeshrunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.InvalidInput, message, options);
    this.name = 'InvalidInputError';
  }
}

export class UnsafePathError extends MeshrunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unsafe, message, options);
    this.name = 'UnsafePathError';
  }
}

export class ToolError extends MeshrunError {
  readonly tool: string;
  readonly exitCode: number | undefined;
  readonly stderr: string;
  constructor(tool: string, message: string, detail: { exitCode?: number; stderr?: string; cause?: unknown } = {}) {
    super(ErrorCode.ToolFailed, message, { cause: detail.cause });
    this.name = 'ToolError';
    this.tool = tool;
    this.exitCode = detail.exitCode;
    this.stderr = detail.stderr ?? '';
  }
}

export function isMeshrunError(err: unknown): err is MeshrunError {
  return err instanceof MeshrunError;
}
