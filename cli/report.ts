// How a command's outcome becomes the process's exit: one error line on stderr and an exit code
// (the README's table), after stdout has drained. cli/index.ts (commander) and cli/fast-read.ts
// (the read commands without it) end the same way.
import { isMeshrunError, ErrorCode } from '../lib/errors.js';
import { ExitCode, ExitError } from './exit.js';
import { escapeControls } from './format.js';

/** One error line on stderr; a message may quote a name or a reason, so it is escaped. */
export const fail = (message: string): void => void process.stderr.write(`meshrun: ${escapeControls(message, 'log')}\n`);

/** The exit code of an error a command threw, its line written. */
export function reportError(err: unknown): number {
  if (err instanceof ExitError) {
    if (err.message) fail(err.message);
    return err.exitCode;
  }
  if (isMeshrunError(err)) {
    fail(err.message);
    return err.code === ErrorCode.InvalidInput || err.code === ErrorCode.Usage ? ExitCode.Usage : ExitCode.Error;
  }
  fail((err as Error)?.message ?? String(err));
  return ExitCode.Error;
}

/** Exits with `code` once stdout has drained. */
export async function exitWith(code: number): Promise<never> {
  await flushStdout();
  process.exit(code);
}

/**
 * Writes to a pipe complete asynchronously: exiting at once cut `meshrun nodes --json | jq` off
 * after the pipe's 64 KiB. A reader that went away (`| head`) ends the wait too.
 */
function flushStdout(): Promise<void> {
  if (process.stdout.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    process.stdout.once('error', () => resolve());
    process.stdout.write('', () => resolve());
  });
}
