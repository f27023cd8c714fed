// Unit tests for the job file schema and its error lines: every rejection names the
// field the way the user wrote it, so a bad job file is fixed without reading code.

import { describe, expect, it } from 'vitest';
import { dependenciesOf, jobSpecSchema, resolveFailover, stageRequest, type StageSpec } from '../proto/job-spec.js';
import { formatIssues, formatPath, parseWith } from '../proto/validation.js';

type Obj = Record<string, unknown>;

function stage(over: Obj = {}): Obj {
  return { name: 's', on: { node: 'n1' }, run: { command: ['true'] }, ...over };
}

function job(stages: Obj[], over: Obj = {}): Obj {
  return { name: 'lab build', stages, ...over };
}

/** The error lines for an input that must be rejected. */
function errorsOf(input: unknown, prefix = ''): string[] {
  const r = parseWith(jobSpecSchema, input, prefix);
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.value)}`);
  return r.errors;
}

function parsed(input: unknown) {
  const r = parseWith(jobSpecSchema, input);
  if (!r.ok) throw new Error(`expected a valid job, got ${r.errors.join('; ')}`);
  return r.value;
}

const NAME_RULE = 'must be letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters';

describe('jobSpecSchema: valid files', () => {
  it('accepts a command stage and a playbook stage and keeps them as written', () => {
    const v = parsed(
      job([
        stage({ name: 'stage-repo', on: { node: 'workstation' }, run: { command: ['rsync', '-a', './', 'bastion:/srv/repo'] } }),
        stage({
          name: 'site_lab',
          on: { labels: { role: 'bastion' } },
          run: { playbook: 'site-lab.yml', inventory: 'hosts.ini', limit: 'lab', tags: ['build'], check: false, extraVars: { n: 3 } },
          always: false,
          artifacts: ['out/**'],
        }),
      ], { prune: ['**/*.key'] }),
    );
    expect(v.name).toBe('lab build');
    expect(v.prune).toEqual(['**/*.key']);
    expect(v.stages.map((s) => s.name)).toEqual(['stage-repo', 'site_lab']);
    expect(v.stages[0]!.run).toEqual({ command: ['rsync', '-a', './', 'bastion:/srv/repo'] });
    expect(v.stages[1]!.on).toEqual({ labels: { role: 'bastion' } });
    expect(v.stages[1]!.run).toEqual({ playbook: 'site-lab.yml', inventory: 'hosts.ini', limit: 'lab', tags: ['build'], check: false, extraVars: { n: 3 } });
  });

  it('accepts an empty label set (any node) and names up to 63 characters', () => {
    const long = 'a'.repeat(63);
    const v = parsed(job([stage({ name: long, on: { labels: {} } })]));
    expect(v.stages[0]!.name).toBe(long);
    expect(v.stages[0]!.on).toEqual({ labels: {} });
  });

  it('accepts needs that point forward in the file and a diamond graph', () => {
    const v = parsed(
      job([
        stage({ name: 'report', needs: ['b1', 'b2'] }),
        stage({ name: 'prep', needs: [] }),
        stage({ name: 'b1', needs: ['prep'] }),
        stage({ name: 'b2', needs: ['prep'] }),
      ]),
    );
    expect(v.stages.map((s) => s.needs)).toEqual([['b1', 'b2'], [], ['prep'], ['prep']]);
  });
});

describe('jobSpecSchema: error lines name the field as written', () => {
  it('a string where an argv array belongs', () => {
    expect(errorsOf(job([stage(), stage({ name: 't', run: { command: 'ls -l' } })]))).toEqual([
      'stages[1].run.command: expected an array of strings',
    ]);
  });

  it('a non-string argv element, and an empty argv', () => {
    expect(errorsOf(job([stage({ run: { command: ['ls', 1] } })]))).toEqual(['stages[0].run.command[1]: expected an array of strings']);
    expect(errorsOf(job([stage({ run: { command: [] } })]))).toEqual([
      'stages[0].run.command: must name a program: an empty command runs nothing',
    ]);
  });

  it('unknown fields are named, in a stage and at the top level, with the prefix when given', () => {
    expect(errorsOf(job([stage({ retries: 3 })], { foo: 1, bar: 2 }))).toEqual([
      'stages[0]: unknown field "retries"',
      'unknown fields "foo", "bar"',
    ]);
    expect(errorsOf(job([stage()], { foo: 1 }), 'job')).toEqual(['job: unknown field "foo"']);
    expect(errorsOf(job([stage({ run: { command: ['x'] }, on: { node: 'n1', host: 'x' } })]), 'job')).toEqual([
      'job.stages[0].on: unknown field "host"',
    ]);
  });

  it('a job without stages, and a job without a name', () => {
    expect(errorsOf(job([]))).toEqual(['stages: a job needs at least one stage']);
    expect(errorsOf({ stages: [stage()] })[0]).toMatch(/^name: /);
  });
});

describe('jobSpecSchema: placement and run take exactly one form', () => {
  it('on: neither node nor labels, or both, is rejected', () => {
    const line = 'stages[0].on: give exactly one of "node" or "labels"';
    expect(errorsOf(job([stage({ on: {} })]))).toEqual([line]);
    expect(errorsOf(job([stage({ on: { node: 'a', labels: { role: 'b' } } })]))).toEqual([line]);
  });

  it('run: neither command nor playbook, or both, is rejected', () => {
    const line = 'stages[0].run: give exactly one of "command" or "playbook"';
    expect(errorsOf(job([stage({ run: {} })]))).toEqual([line]);
    expect(errorsOf(job([stage({ run: { command: ['x'], playbook: 'p.yml' } })]))).toContain(line);
  });

  it('playbook options on a command run are rejected', () => {
    expect(errorsOf(job([stage({ run: { command: ['x'], inventory: 'hosts' } })]))).toEqual([
      'stages[0].run: inventory, extraVars, limit, tags and check belong to a playbook run',
    ]);
  });
});

describe('jobSpecSchema: the stage graph', () => {
  it('duplicate stage names are rejected, naming both places', () => {
    const errs = errorsOf(job([stage({ name: 'a' }), stage({ name: 'b' }), stage({ name: 'a' })]));
    expect(errs).toContain('stages[2].name: duplicate stage name "a" (also stages[0])');
  });

  // Regression (fixed): before the fix, with two stages both named "s" and no `needs`, dependenciesOf maps s -> [s] (the
  // second stage's implicit "the one before me" overwrites the first entry), so findCycle
  // also reports "stages: dependency cycle: s -> s": a cycle the user never wrote.
  it('duplicate stage names do not also report a made-up dependency cycle', () => {
    expect(errorsOf(job([stage({ name: 's' }), stage({ name: 's' })]))).toEqual([
      'stages[1].name: duplicate stage name "s" (also stages[0])',
    ]);
  });

  it('needs naming an unknown stage is rejected with the name and its place', () => {
    expect(errorsOf(job([stage({ name: 'a' }), stage({ name: 'b', needs: ['a', 'ghost'] })]))).toEqual([
      'stages[1].needs[1]: unknown stage "ghost"',
    ]);
  });

  it('a stage that needs itself is rejected', () => {
    expect(errorsOf(job([stage({ name: 'a', needs: ['a'] })]))).toContain('stages[0].needs[0]: stage "a" cannot need itself');
  });

  it('a cycle a -> b -> a is rejected with the names in order', () => {
    expect(errorsOf(job([stage({ name: 'a', needs: ['b'] }), stage({ name: 'b', needs: ['a'] })]))).toEqual([
      'stages: dependency cycle: a -> b -> a',
    ]);
  });

  it('a cycle through implicit file-order dependencies is found too', () => {
    // b waits for a (the one before it), c for b, and a needs c.
    expect(errorsOf(job([stage({ name: 'a', needs: ['c'] }), stage({ name: 'b' }), stage({ name: 'c' })]))).toEqual([
      'stages: dependency cycle: a -> c -> b -> a',
    ]);
  });

  it('graph errors are reported alongside field errors in the same file', () => {
    const errs = errorsOf(job([stage({ name: 'a b' }), stage({ name: 'x', needs: ['zz'] })]));
    expect(errs).toEqual([`stages[0].name: ${NAME_RULE}`, 'stages[1].needs[0]: unknown stage "zz"']);
  });
});

describe('jobSpecSchema: durations', () => {
  it.each([
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    [90, 90_000],
    ['250ms', 250],
    ['2', 2000],
  ])('timeout %j is %d ms', (input, ms) => {
    expect(parsed(job([stage({ timeout: input })])).stages[0]!.timeout).toBe(ms);
  });

  it.each(['bogus', '', '1h 30m', '30S', '-5', '1m30'])('timeout %j is rejected with the value quoted', (input) => {
    expect(errorsOf(job([stage({ timeout: input })]))).toEqual([
      `stages[0].timeout: expected a duration like "30s", "5m" or "1h30m", got ${JSON.stringify(input)}`,
    ]);
  });

  it('a negative number of seconds is rejected', () => {
    expect(errorsOf(job([stage({ timeout: -5 })]))).toEqual([
      'stages[0].timeout: expected a duration like "30s", "5m" or "1h30m", got -5',
    ]);
  });
});

describe('jobSpecSchema: resources', () => {
  it('accepts cpu (fractional) and memory with binary units, keeps them as written, and reads the request', () => {
    const v = parsed(job([stage({ resources: { cpu: 16, memory: '64G' } }), stage({ name: 't', resources: { cpu: 0.5 } }), stage({ name: 'u', resources: { memory: '512Mi' } })]));
    expect(v.stages[0]!.resources).toEqual({ cpu: 16, memory: '64G' });
    // the stored record is parsed again on every read: what it holds must parse to the same
    expect(parsed(v).stages[0]!.resources).toEqual({ cpu: 16, memory: '64G' });
    expect(stageRequest(v.stages[0]!)).toEqual({ cpu: 16_000, memory: 64 * 2 ** 30 });
    expect(stageRequest(v.stages[1]!)).toEqual({ cpu: 500, memory: 0 });
    expect(stageRequest(v.stages[2]!)).toEqual({ cpu: 0, memory: 512 * 2 ** 20 });
    expect(stageRequest(parsed(job([stage()])).stages[0]!)).toEqual({ cpu: 0, memory: 0 });
  });

  it.each([
    [{ cpu: 0 }, 'stages[0].resources.cpu: must be more than 0'],
    [{ cpu: -2 }, 'stages[0].resources.cpu: must be more than 0'],
    [{ cpu: '16' }, 'stages[0].resources.cpu: expected a number of CPUs, like 2 or 0.5'],
    [{ cpu: 0.0005 }, 'stages[0].resources.cpu: at most three decimals (0.001 cpu is the smallest step)'],
    [{ cpu: 5000 }, 'stages[0].resources.cpu: must be at most 4096 (limit resourceCpuMax)'],
    [{ memory: 64 }, 'stages[0].resources.memory: expected a size with a unit, like 512M or 64G (K, M, G, T: powers of 1024)'],
    [{ memory: '64' }, 'stages[0].resources.memory: expected a size with a unit, like 512M or 64G (K, M, G, T: powers of 1024), got "64"'],
    [{ memory: '64 gigs' }, 'stages[0].resources.memory: expected a size with a unit, like 512M or 64G (K, M, G, T: powers of 1024), got "64 gigs"'],
    [{ memory: '0G' }, 'stages[0].resources.memory: must be more than 0'],
    [{ memory: '300T' }, 'stages[0].resources.memory: must be at most 256 TiB (limit resourceMemoryMaxBytes)'],
    [{}, 'stages[0].resources: give cpu, memory or both'],
    [{ cpu: 1, gpu: 1 }, 'stages[0].resources: unknown field "gpu"'],
  ])('resources %j is rejected: %s', (resources, line) => {
    expect(errorsOf(job([stage({ resources })]))).toEqual([line]);
  });
});

describe('jobSpecSchema and resolveFailover: failover forms', () => {
  it.each([
    ['reassign', { mode: 'reassign' }],
    ['fail', { mode: 'fail' }],
    [{ wait: '10s' }, { mode: 'wait', waitMs: 10_000 }],
    [{ wait: 90 }, { mode: 'wait', waitMs: 90_000 }],
  ])('%j resolves to %j', (input, policy) => {
    const s = parsed(job([stage({ failover: input })])).stages[0]!;
    expect(resolveFailover(s.failover)).toEqual(policy);
  });

  it('no failover means reassign', () => {
    const s = parsed(job([stage()])).stages[0]!;
    expect(s.failover).toBeUndefined();
    expect(resolveFailover(s.failover)).toEqual({ mode: 'reassign' });
  });

  it.each([['retry'], [{ wait: 'bogus' }], [{ wait: '10s', extra: 1 }], [3]])('%j is rejected at stages[0].failover', (input) => {
    const errs = errorsOf(job([stage({ failover: input })]));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^stages\[0\]\.failover: /);
  });

  it('an unknown word names the accepted forms', () => {
    expect(errorsOf(job([stage({ failover: 'retry' })]))).toEqual(['stages[0].failover: expected "reassign", "fail" or {wait: DURATION}']);
  });
});

describe('jobSpecSchema: env', () => {
  it('numbers and booleans become strings', () => {
    const s = parsed(job([stage({ env: { A: 1, B: true, C: 'x', D: 0.5, E: false } })])).stages[0]!;
    expect(s.env).toEqual({ A: '1', B: 'true', C: 'x', D: '0.5', E: 'false' });
  });

  it('a nested value is rejected at its key', () => {
    const errs = errorsOf(job([stage({ env: { B: { a: 1 } } })]));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^stages\[0\]\.env\.B: /);
  });

  it('a bad variable name is rejected at its key', () => {
    const errs = errorsOf(job([stage({ env: { '1A': 'x' } })]));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^stages\[0\]\.env\.1A: /);
  });

  // Regression (fixed): before the fix, zod 4 reports a failed record key as one `invalid_key` issue whose own message is
  // the generic "Invalid key in record"; the schema's message ('environment variable names
  // are letters, digits and "_"') sits in the nested `issues` and formatIssues never shows
  // it. Actual line: 'stages[0].env.1A: Invalid key in record'.
  it('a bad variable name gets the schema\'s explanation, not zod\'s generic one', () => {
    expect(errorsOf(job([stage({ env: { '1A': 'x' } })]))).toEqual([
      'stages[0].env.1A: environment variable names are letters, digits and "_"',
    ]);
  });
});

describe('jobSpecSchema: names that become subject tokens and paths', () => {
  it.each(['build.x', 'build x', 'build/x', '../x', '-x', '', 'a'.repeat(64)])('stage name %j is rejected', (name) => {
    expect(errorsOf(job([stage({ name })]))).toEqual([`stages[0].name: ${NAME_RULE}`]);
  });

  it.each(['bastion.lab', 'bastion lab', 'a/b'])('node name %j in on.node is rejected', (node) => {
    expect(errorsOf(job([stage({ on: { node } })]))).toEqual([`stages[0].on.node: ${NAME_RULE}`]);
  });

  it('a needs entry with a dot is rejected as a name before it is looked up', () => {
    const errs = errorsOf(job([stage({ name: 'a' }), stage({ name: 'b', needs: ['a.b'] })]));
    expect(errs).toContain(`stages[1].needs[0]: ${NAME_RULE}`);
  });
});

describe('dependenciesOf', () => {
  const spec = (stages: Obj[]): StageSpec[] => parsed(job(stages)).stages;

  it('without needs a stage waits for the one before it; the first waits for none', () => {
    const d = dependenciesOf(spec([stage({ name: 'a' }), stage({ name: 'b' }), stage({ name: 'c' })]));
    expect([...d]).toEqual([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
    ]);
  });

  it('an always stage without needs waits for every stage before it; needs wins when given', () => {
    const d = dependenciesOf(
      spec([
        stage({ name: 'setup' }),
        stage({ name: 'run' }),
        stage({ name: 'cleanup', always: true }),
        stage({ name: 'notify', always: true, needs: ['setup'] }),
        stage({ name: 'after' }),
      ]),
    );
    expect(d.get('cleanup')).toEqual(['setup', 'run']);
    expect(d.get('notify')).toEqual(['setup']);
    expect(d.get('after')).toEqual(['notify']);
  });

  it('an always first stage waits for none, and needs: [] means no wait', () => {
    const d = dependenciesOf(spec([stage({ name: 'a', always: true }), stage({ name: 'b', needs: [] })]));
    expect(d.get('a')).toEqual([]);
    expect(d.get('b')).toEqual([]);
  });

  it('returns copies: changing the result does not change the spec', () => {
    const stages = spec([stage({ name: 'a' }), stage({ name: 'b', needs: ['a'] })]);
    dependenciesOf(stages).get('b')!.push('zzz');
    expect(stages[1]!.needs).toEqual(['a']);
  });
});

describe('formatPath and formatIssues', () => {
  it('writes keys with dots and indexes in brackets', () => {
    expect(formatPath(['stages', 1, 'run', 'command', 0])).toBe('stages[1].run.command[0]');
    expect(formatPath([0, 'name'])).toBe('[0].name');
    expect(formatPath([])).toBe('');
  });

  it('formatIssues on a raw ZodError matches parseWith', () => {
    const input = job([stage({ on: {} })]);
    const r = jobSpecSchema.safeParse(input);
    expect(r.success).toBe(false);
    if (!r.success) expect(formatIssues(r.error, 'job')).toEqual(['job.stages[0].on: give exactly one of "node" or "labels"']);
  });
});

describe('jobSpecSchema: artifact and prune globs', () => {
  const base = { name: 'g', stages: [{ name: 's', on: { node: 'n' }, run: { command: ['true'] } }] };
  it('accepts relative globs', () => {
    expect(jobSpecSchema.safeParse({ ...base, prune: ['**/*.key'], stages: [{ ...base.stages[0], artifacts: ['out/**'] }] }).success).toBe(true);
  });
  it.each([['/etc/shadow'], ['../x'], ['a/../../b']])('refuses %s, naming the field', (g) => {
    const r = jobSpecSchema.safeParse({ ...base, prune: [g] });
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!)).toEqual(['prune[0]: globs are relative to the run directory: no leading / and no ..']);
  });
});

describe('a stored job record read back', () => {
  it('keeps its durations: a record written and read again twice has the same timeout and wait', async () => {
    const { jobRecordSchema } = await import('../proto/records.js');
    const { newJobRecord } = await import('../coordinator/job-machine.js');
    const spec = jobSpecSchema.parse({ name: 'x', stages: [{ name: 's', on: { labels: {} }, run: { command: ['true'] }, timeout: '2h', failover: { wait: '30s' } }] });
    let record: unknown = newJobRecord('j1', spec, 1, null);
    for (let i = 0; i < 2; i++) record = jobRecordSchema.parse(JSON.parse(JSON.stringify(record)));
    const stage = (record as { spec: { stages: StageSpec[] } }).spec.stages[0]!;
    expect(stage.timeout).toBe(7_200_000);
    expect(resolveFailover(stage.failover)).toEqual({ mode: 'wait', waitMs: 30_000 });
  });
});
