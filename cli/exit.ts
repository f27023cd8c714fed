// Exit codes of the CLI (documented in the README) and the error that carries one;
// only cli/report.ts turns it into process exit.
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Usage: 2,
  Unreachable: 3,
  NotFound: 4,
  /** Not authenticated, or the role does not allow it. */
  Denied: 5,
} as const;

export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
    this.name = 'ExitError';
  }
}
