// Structured logging for the daemons (pino behind a small interface): a fixed message plus
// a metadata object, one JSON line per record on stderr so a supervisor (systemd, tests) can read it.
import pino from 'pino';
import { prettyLine } from './log-pretty.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function isLogLevel(s: unknown): s is LogLevel {
  return LEVELS.includes(s as LogLevel);
}

/** `MESHRUN_LOG_LEVEL`, or info when it is unset or not a level. */
export function envLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  return isLogLevel(env.MESHRUN_LOG_LEVEL) ? env.MESHRUN_LOG_LEVEL : 'info';
}

/**
 * JSON unless asked otherwise: `MESHRUN_LOG_FORMAT=pretty|json`; unset, pretty only when stderr
 * is a terminal (a daemon under systemd or a test writes to a file or pipe and gets JSON).
 */
export function envLogFormat(env: NodeJS.ProcessEnv = process.env, tty = process.stderr.isTTY === true): 'json' | 'pretty' {
  if (env.MESHRUN_LOG_FORMAT === 'pretty' || env.MESHRUN_LOG_FORMAT === 'json') return env.MESHRUN_LOG_FORMAT;
  return tty ? 'pretty' : 'json';
}

// Synchronous writes to fd 2: a daemon killed right after a line still has it in its log.
let stderrDest: pino.DestinationStream | undefined;
function stderr(): pino.DestinationStream {
  if (!stderrDest) {
    const dest = pino.destination({ dest: 2, sync: true });
    stderrDest = envLogFormat() === 'pretty' ? { write: (line) => dest.write(prettyLine(line, process.stderr.isTTY === true)) } : dest;
  }
  return stderrDest;
}

/** Errors anywhere at the top of a record (`{ err }`, `{ error }`, ...) keep their stack and cause. */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const out = pino.stdSerializers.errWithCause(value) as unknown as Record<string, unknown>;
  // errWithCause keeps only an Error as cause; a plain value is worth as much
  if (value.cause !== undefined && !(value.cause instanceof Error)) out.cause = value.cause;
  return out;
}

function serializeErrors(obj: Record<string, unknown>): Record<string, unknown> {
  let out = obj;
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Error) {
      if (out === obj) out = { ...obj };
      out[k] = serializeError(v);
    }
  }
  return out;
}

function wrap(p: pino.Logger<never>): Logger {
  const at = (lvl: LogLevel) => (msg: string, meta?: Record<string, unknown>): void => {
    if (meta) p[lvl](meta, msg);
    else p[lvl](msg);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => wrap(p.child(b)),
  };
}

function build(bindings: Record<string, unknown>, level: LogLevel | 'silent', stream: pino.DestinationStream): Logger {
  const p = pino(
    {
      level,
      base: bindings,
      timestamp: pino.stdTimeFunctions.isoTime,
      // one error shape for every key (pino's own `err` serializer would redo it differently)
      serializers: { err: serializeError },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (b) => serializeErrors(b),
        log: (obj) => serializeErrors(obj),
      },
    },
    stream,
  );
  return wrap(p);
}

export function createLogger(
  bindings: Record<string, unknown> = {},
  level: LogLevel = envLogLevel(),
  write?: (line: string) => void,
): Logger {
  return build(bindings, isLogLevel(level) ? level : 'info', write ? { write } : stderr());
}

export const silentLogger: Logger = build({}, 'silent', { write: () => undefined });
