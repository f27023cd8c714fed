// Stage outputs (KEY=VALUE lines a run writes to $MESHRUN_OUTPUT) become the environment of
// later stages, so their keys are checked at both ends: a run must not set PATH for the next.
import { Limits } from '../lib/limits.js';

const OUTPUT_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Variables that change how a program, its loader or its shell runs: never set by an output. */
const RESERVED_KEYS: ReadonlySet<string> = new Set([
  'PATH',
  'HOME',
  'SHELL',
  'IFS',
  'ENV',
  'BASH_ENV',
  'CDPATH',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'GLOBIGNORE',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PERL5LIB',
  'PERL5OPT',
  'RUBYOPT',
  'RUBYLIB',
  'NODE_OPTIONS',
  'NODE_PATH',
  'GCONV_PATH',
  'TMPDIR',
]);
const RESERVED_PREFIXES = ['LD_', 'MESHRUN_', 'DYLD_', 'ANSIBLE_', 'BASH_FUNC_'];

/** Why `key` may not be an output (undefined: it may). */
export function outputKeyProblem(key: string): string | undefined {
  if (!OUTPUT_KEY_RE.test(key)) return `output "${key.slice(0, 64)}" is not a name (letters, digits and "_", at most 128, not starting with a digit)`;
  const upper = key.toUpperCase();
  if (RESERVED_KEYS.has(upper)) return `output "${key}" would replace ${upper} for later stages: reserved`;
  const prefix = RESERVED_PREFIXES.find((p) => upper.startsWith(p));
  if (prefix) return `output "${key}" starts with ${prefix}: reserved`;
  return undefined;
}

/** Bytes of outputs' names and values together (UTF-8). */
export function outputsBytes(outputs: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(outputs)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  return n;
}

/**
 * The outputs a stage may pass on: keys checked, at most `stageOutputsMaxKeys` of them and
 * `stageOutputsMaxBytes` in all, or `jobBudget` bytes when that is less (what the job's other
 * stages left of `jobOutputsMaxBytes`); in order, the rest dropped. `dropped` says what and why.
 */
export function admitOutputs(outputs: Record<string, string>, jobBudget: number = Limits.jobOutputsMaxBytes): { outputs: Record<string, string>; dropped: string[] } {
  const max = Math.min(Limits.stageOutputsMaxBytes, jobBudget);
  const limit = max < Limits.stageOutputsMaxBytes ? 'jobOutputsMaxBytes' : 'stageOutputsMaxBytes';
  const out: Record<string, string> = {};
  const dropped: string[] = [];
  let bytes = 0;
  let keys = 0;
  for (const [k, v] of Object.entries(outputs)) {
    const problem = outputKeyProblem(k);
    if (problem) {
      dropped.push(problem);
      continue;
    }
    const size = Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
    if (keys + 1 > Limits.stageOutputsMaxKeys) {
      dropped.push(`output "${k}" is past ${Limits.stageOutputsMaxKeys} outputs (limit stageOutputsMaxKeys)`);
      continue;
    }
    if (bytes + size > max) {
      dropped.push(`output "${k}" takes the outputs past ${max} bytes (limit ${limit})`);
      continue;
    }
    out[k] = v;
    bytes += size;
    keys += 1;
  }
  return { outputs: out, dropped };
}
