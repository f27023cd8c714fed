// Structured logging for the daemons: a fixed message plus a metadata object,
// one JSON line per record on stderr so a supervisor (systemd, tests) can read it.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  bindings: Record<string, unknown> = {},
  level: LogLevel = (process.env.MESHRUN_LOG_LEVEL as LogLevel | undefined) ?? 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold = ORDER[level] ?? ORDER.info;
  const emit = (lvl: LogLevel, msg: string, meta?: Record<string, unknown>): void => {
    if (ORDER[lvl] < threshold) return;
    const rec = { t: new Date().toISOString(), level: lvl, msg, ...bindings, ...meta };
    write(JSON.stringify(rec, errorReplacer) + '\n');
  };
  return {
    debug: (m, x) => emit('debug', m, x),
    info: (m, x) => emit('info', m, x),
    warn: (m, x) => emit('warn', m, x),
    error: (m, x) => emit('error', m, x),
    child: (b) => createLogger({ ...bindings, ...b }, level, write),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export const silentLogger: Logger = createLogger({}, 'error', () => undefined);
