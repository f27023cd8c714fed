// Which command lines the commander-less read path (cli/fast-read.ts) takes, and how it reads
// them: exactly what commander would hand the command (checked against commander itself, built
// with the same options), and anything it does not read in full goes back to commander.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseFastRead, type FastRead } from '../cli/fast-read.js';

/** What commander makes of argv with the options cli/index.ts gives these commands, in FastRead's shape. */
function commanderReads(argv: string[]): FastRead | 'error' {
  const program = new Command('meshrun').option('--coordinator <host:port>').option('--context <name>').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let got: FastRead | undefined;
  const flags = (): FastRead['flags'] => {
    const o = program.opts() as FastRead['flags'];
    return { ...(o.coordinator !== undefined ? { coordinator: o.coordinator } : {}), ...(o.context !== undefined ? { context: o.context } : {}) };
  };
  program.command('job').argument('<job>').option('--json').action((id: string, o: { json?: boolean }) => {
    got = { command: 'job', flags: flags(), json: o.json === true, id };
  });
  program.command('jobs').option('--json').option('--limit <n>').action((o: { json?: boolean; limit?: string }) => {
    got = { command: 'jobs', flags: flags(), json: o.json === true, ...(o.limit !== undefined ? { limit: o.limit } : {}) };
  });
  program.command('nodes').option('--json').action((o: { json?: boolean }) => {
    got = { command: 'nodes', flags: flags(), json: o.json === true };
  });
  try {
    program.parse(argv, { from: 'user' });
  } catch {
    return 'error';
  }
  return got ?? 'error';
}

const READ: string[][] = [
  ['nodes'],
  ['nodes', '--json'],
  ['--coordinator', 'a:1', 'nodes'],
  ['nodes', '--coordinator', 'a:1', '--json'],
  ['--coordinator=a:1', '--context=ops', 'nodes'],
  ['--context', 'ops', 'nodes', '--context', 'dev'],
  ['jobs'],
  ['jobs', '--limit', '5'],
  ['jobs', '--limit=0', '--json'],
  ['jobs', '--limit', '5', '--limit', '6'],
  ['jobs', '--limit', '-1'],
  ['jobs', '--limit', 'many'],
  ['job', 'j-1'],
  ['job', 'j-1', '--json'],
  ['job', '--json', 'j-1'],
  ['--coordinator', '--json', 'job', 'x'],
  ['job', ''],
];

const ELSEWHERE: string[][] = [
  ['nodes', '--help'],
  ['nodes', '-h'],
  ['--json', 'nodes'],
  ['nodes', '--json=1'],
  ['nodes', 'extra'],
  ['nodes', '--limit', '5'],
  ['jobs', '--limit'],
  ['job'],
  ['job', 'a', 'b'],
  ['job', '--', 'x'],
  ['job', '-x'],
  ['nodes', '--coordinator'],
  ['nodes', '--verbose'],
  ['cancel', 'j-1'],
  [],
];

describe('the read commands without commander', () => {
  it.each(READ.map((a) => [a.join(' ')]))('%j is read as commander reads it', (line) => {
    const argv = READ.find((a) => a.join(' ') === line)!;
    const fast = parseFastRead(argv);
    expect(fast).toBeDefined();
    expect(fast).toEqual(commanderReads(argv));
  });

  it.each(ELSEWHERE.map((a) => [a.join(' ')]))('%j goes to commander', (line) => {
    expect(parseFastRead(ELSEWHERE.find((a) => a.join(' ') === line)!)).toBeUndefined();
  });
});
