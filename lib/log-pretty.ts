// A human-readable form of one JSON log record for a terminal (MESHRUN_LOG_FORMAT=pretty):
// time, level, message, then key=value; an error's stack on the lines below.

const COLOR: Record<string, string> = { debug: '\x1b[90m', info: '\x1b[32m', warn: '\x1b[33m', error: '\x1b[31m' };
const RESET = '\x1b[0m';

function isSerializedError(v: unknown): v is { type?: string; message?: string; stack?: string; cause?: unknown } {
  return typeof v === 'object' && v !== null && typeof (v as { stack?: unknown }).stack === 'string';
}

function stacks(v: { stack?: string; cause?: unknown }): string {
  const own = (v.stack ?? '').split('\n').map((l) => `    ${l.trim()}`).join('\n');
  return isSerializedError(v.cause) ? `${own}\n    caused by:\n${stacks(v.cause)}` : own;
}

/** One JSON line in, one or more text lines out; a line that is not JSON passes unchanged. */
export function prettyLine(line: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, ...rest } = rec;
  const lvl = String(level ?? '');
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  const tag = lvl.toUpperCase().padEnd(5);
  const fields: string[] = [];
  const below: string[] = [];
  for (const [k, v] of Object.entries(rest)) {
    if (isSerializedError(v)) {
      fields.push(`${k}=${JSON.stringify(v.message ?? '')}`);
      below.push(stacks(v));
    } else {
      fields.push(`${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`);
    }
  }
  const head = `${clock} ${color ? `${COLOR[lvl] ?? ''}${tag}${RESET}` : tag} ${String(msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}`;
  return [head, ...below].join('\n') + '\n';
}
