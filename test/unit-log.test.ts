// The daemons' logger: one JSON record per line with a level label, bindings and errors
// (stack and cause) kept, level filtering, and lines that survive a SIGKILL right after them.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MeshrunError, ErrorCode } from '../lib/errors.js';
import { createLogger, envLogFormat, envLogLevel, silentLogger, type LogLevel } from '../lib/log.js';
import { prettyLine } from '../lib/log-pretty.js';

type Rec = Record<string, unknown> & { level: string; msg: string; time: string };

function capture(bindings: Record<string, unknown> = {}, level: LogLevel = 'debug') {
  const lines: string[] = [];
  const log = createLogger(bindings, level, (l) => void lines.push(l));
  const records = (): Rec[] => lines.map((l) => {
    expect(l.endsWith('\n')).toBe(true);
    expect(l.slice(0, -1)).not.toContain('\n');
    return JSON.parse(l) as Rec;
  });
  return { log, lines, records };
}

describe('logger', () => {
  it('writes one JSON line per record: level as a label, the message under msg, meta at the top', () => {
    const { log, records } = capture();
    log.info('agent state changed', { state: 'running', pending: 3 });
    const [r] = records();
    expect(r).toMatchObject({ level: 'info', msg: 'agent state changed', state: 'running', pending: 3 });
    expect(Number.isNaN(Date.parse(r!.time))).toBe(false);
  });

  it('drops records below its level', () => {
    const { log, records } = capture({}, 'warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(records().map((r) => [r.level, r.msg])).toEqual([['warn', 'w'], ['error', 'e']]);
  });

  it('child loggers carry their parent bindings and their own; meta wins over a binding', () => {
    const { log, records } = capture({ daemon: 'agent' });
    const child = log.child({ node: 'alpha' }).child({ run: 'j1/1' });
    child.warn('lease expired', { silentMs: 12 });
    log.info('parent only');
    log.child({ node: 'alpha' }).info('override', { node: 'beta' });
    const [a, b, c] = records();
    expect(a).toMatchObject({ level: 'warn', msg: 'lease expired', daemon: 'agent', node: 'alpha', run: 'j1/1', silentMs: 12 });
    expect(b).not.toHaveProperty('node');
    expect(c!.node).toBe('beta');
  });

  it('serializes an error under any key with its stack, code and cause', () => {
    const { log, records } = capture();
    const inner = new Error('connection refused');
    const err = new MeshrunError(ErrorCode.Conflict, 'key already in use', { cause: inner });
    log.error('mesh step failed', { what: 'rotate', err });
    log.warn('invalid command ignored', { error: new TypeError('bad shape') });
    log.warn('plain cause', { err: new Error('outer', { cause: 'a string' }) });
    const [a, b, c] = records();
    expect(a!.err).toMatchObject({ type: 'MeshrunError', message: 'key already in use', code: 'CONFLICT', cause: { type: 'Error', message: 'connection refused' } });
    expect((a!.err as { stack: string }).stack).toContain('MeshrunError: key already in use');
    expect((a!.err as { cause: { stack: string } }).cause.stack).toContain('Error: connection refused');
    expect(a!.what).toBe('rotate');
    expect(b!.error).toMatchObject({ type: 'TypeError', message: 'bad shape' });
    expect(c!.err).toMatchObject({ message: 'outer', cause: 'a string' });
  });

  it('keeps the message as given (no printf interpolation)', () => {
    const { log, records } = capture();
    log.info('100% done %s', { n: 1 });
    log.info('50% %d');
    expect(records().map((r) => r.msg)).toEqual(['100% done %s', '50% %d']);
  });

  it('reads MESHRUN_LOG_LEVEL and MESHRUN_LOG_FORMAT', () => {
    expect(envLogLevel({ MESHRUN_LOG_LEVEL: 'debug' })).toBe('debug');
    expect(envLogLevel({ MESHRUN_LOG_LEVEL: 'loud' })).toBe('info');
    expect(envLogLevel({})).toBe('info');
    expect(envLogFormat({}, false)).toBe('json');
    expect(envLogFormat({}, true)).toBe('pretty');
    expect(envLogFormat({ MESHRUN_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(envLogFormat({ MESHRUN_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });

  it('silentLogger writes nothing', () => {
    silentLogger.error('nobody hears this', { err: new Error('x') });
    silentLogger.child({ a: 1 }).info('nor this');
  });

  it('pretty form: time, level, message, fields, and the stack below', () => {
    const { log, lines } = capture({ daemon: 'coordinator' });
    log.error('node down', { node: 'beta', err: new Error('gone', { cause: new Error('timeout') }) });
    const out = prettyLine(lines[0]!, false).split('\n');
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR node down {2}daemon=coordinator node=beta err="gone"$/);
    expect(out[1]).toContain('Error: gone');
    expect(out.join('\n')).toMatch(/caused by:\n\s+Error: timeout/);
    expect(prettyLine('not json\n', false)).toBe('not json\n');
  });

  it('a record is on stderr before the next statement runs: a SIGKILL right after it loses nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshrun-log-'));
    try {
      const file = join(dir, 'daemon.log');
      const fd = openSync(file, 'a');
      const logJs = fileURLToPath(new URL('../dist/lib/log.js', import.meta.url));
      const script = `import { createLogger } from ${JSON.stringify(logJs)};
        const log = createLogger({ daemon: 'probe' });
        for (let i = 0; i < 200; i++) log.info('lease expired', { i });
        process.kill(process.pid, 'SIGKILL');`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', fd], env: { ...process.env, MESHRUN_LOG_LEVEL: 'info', MESHRUN_LOG_FORMAT: 'json' } });
      closeSync(fd);
      expect(r.signal).toBe('SIGKILL');
      const recs = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
      expect(recs).toHaveLength(200);
      expect(recs[199]).toMatchObject({ level: 'info', msg: 'lease expired', daemon: 'probe', i: 199 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
