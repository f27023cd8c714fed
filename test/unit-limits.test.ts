// The limits of lib/limits.ts where they are pure: schemas refuse what is over them naming the
// limit, bus strings are cut with a marker, outputs keys are checked, a log is cut with a line
// saying so, and nothing a message carries makes the coordinator's work super-linear.
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { capLogChunk, logTruncatedLine } from '../agent/log-cap.js';
import { parseOutputsChecked } from '../agent/run-extras.js';
import { artifactObject } from '../coordinator/blob-store.js';
import { advance, applyExited, newJobRecord, oneLine, step } from '../coordinator/job-machine.js';
import { WorkspaceUploads } from '../coordinator/workspace-uploads.js';
import { runEventSchema } from '../proto/bus.js';
import { jobSpecSchema, type JobSpec } from '../proto/job-spec.js';
import { admitOutputs, outputKeyProblem } from '../proto/outputs.js';
import { formatIssues } from '../proto/validation.js';
import { Limits } from '../lib/limits.js';
import { isMeshrunError } from '../lib/errors.js';
import { silentLogger } from '../lib/log.js';

const stage = (name: string, over: Record<string, unknown> = {}) => ({ name, on: { node: 'n1' }, run: { command: ['true'] }, ...over });

function specErrors(input: unknown): string {
  const r = jobSpecSchema.safeParse(input);
  return r.success ? '' : formatIssues(r.error).join('; ');
}

/**
 * Time per call of `big` over time per call of `small` (4x the input): each warmed up, then
 * measured in alternating batches, the least disturbed batch of each counting. Linear work
 * gives about 4, quadratic 16.
 */
function costRatio(small: () => void, big: () => void, reps: number): number {
  for (let i = 0; i < 10; i++) {
    small();
    big();
  }
  const time = (fn: () => void, n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  let bestSmall = Infinity;
  let bestBig = Infinity;
  for (let b = 0; b < 15; b++) {
    bestBig = Math.min(bestBig, time(big, reps));
    bestSmall = Math.min(bestSmall, time(small, 4 * reps));
  }
  return bestBig / bestSmall;
}

describe('job spec limits', () => {
  it('refuses more than stagesMax stages, naming the limit', () => {
    const stages = Array.from({ length: Limits.stagesMax + 1 }, (_, i) => stage(`s${i}`));
    expect(specErrors({ name: 'big', stages })).toMatch(/at most 256 stages \(limit stagesMax\)/);
    expect(specErrors({ name: 'ok', stages: stages.slice(0, Limits.stagesMax) })).toBe('');
  });

  it('refuses a stage env over stageEnvMaxBytes, naming the limit', () => {
    const env = { BIG: 'x'.repeat(Limits.stageEnvMaxBytes) };
    expect(specErrors({ name: 'env', stages: [stage('a', { env })] })).toMatch(/limit stageEnvMaxBytes/);
    expect(specErrors({ name: 'env', stages: [stage('a', { env: { SMALL: 'x'.repeat(1000) } })] })).toBe('');
  });
});

describe('stage outputs', () => {
  it('keeps names, drops PATH, LD_*, MESHRUN_*, bad names, and says why', () => {
    const { outputs, dropped } = parseOutputsChecked('GOOD=1\nPATH=/tmp/evil\nLD_PRELOAD=/tmp/x.so\nMESHRUN_NODE=mallory\nld_library_path=/x\n9BAD=1\nBAD-NAME=1\nBASH_ENV=/tmp/rc\nalso_good=two words\n');
    expect(outputs).toEqual({ GOOD: '1', also_good: 'two words' });
    expect(dropped.join('\n')).toMatch(/PATH/);
    expect(dropped.join('\n')).toMatch(/LD_/);
    expect(dropped.join('\n')).toMatch(/MESHRUN_/);
    expect(dropped).toHaveLength(7);
    expect(outputKeyProblem('x'.repeat(129))).toMatch(/not a name/);
  });

  it('keeps at most stageOutputsMaxKeys outputs and stageOutputsMaxBytes bytes, naming the limit', () => {
    const many = Object.fromEntries(Array.from({ length: Limits.stageOutputsMaxKeys + 5 }, (_, i) => [`K${i}`, 'v']));
    const a = admitOutputs(many);
    expect(Object.keys(a.outputs)).toHaveLength(Limits.stageOutputsMaxKeys);
    expect(a.dropped[0]).toMatch(/limit stageOutputsMaxKeys/);
    const b = admitOutputs({ A: 'x'.repeat(Limits.stageOutputsMaxBytes / 2), B: 'y'.repeat(Limits.stageOutputsMaxBytes / 2) });
    expect(Object.keys(b.outputs)).toEqual(['A']);
    expect(b.dropped[0]).toMatch(/limit stageOutputsMaxBytes/);
    const c = admitOutputs({ A: 'x'.repeat(100) }, 50);
    expect(c.outputs).toEqual({});
    expect(c.dropped[0]).toMatch(/limit jobOutputsMaxBytes/);
  });

  it('the coordinator drops reserved keys an agent sends anyway', () => {
    const job = newJobRecord('j', jobSpecSchema.parse({ name: 'o', stages: [stage('a'), stage('b')] }), 1, null);
    advance(job, 1, () => ({ ok: true, node: 'n1' }));
    applyExited(job, { job: 'j', stage: 'a', attempt: 1 }, { exitCode: 0, signal: null, endedAt: 2, logBytes: 0, stopReason: null, vanished: false, outputs: { PATH: '/tmp', LD_PRELOAD: 'x', OK: 'yes' } }, 2);
    expect(job.stages[0]!.outputs).toEqual({ OK: 'yes' });
  });
});

describe('bus strings', () => {
  const exited = (failures: unknown[], error: string | null = null) => ({
    kind: 'exited',
    node: 'n1',
    token: { job: 'j', stage: 'a', attempt: 1 },
    exitCode: 2,
    signal: null,
    endedAt: 5,
    logBytes: 0,
    stopReason: null,
    failures,
    error,
  });

  it('cuts a failure message, host, task and error to their limits with a marker naming the limit', () => {
    const big = 'm'.repeat(100_000);
    const ev = runEventSchema.parse(exited([{ host: big, task: big, msg: big }], big));
    if (ev.kind !== 'exited') throw new Error('not exited');
    const f = ev.failures[0]!;
    expect(f.msg.length).toBeLessThanOrEqual(Limits.failureMessageMaxChars);
    expect(f.msg).toMatch(/\(limit failureMessageMaxChars\)\]$/);
    expect(f.host.length).toBeLessThanOrEqual(Limits.failureNameMaxChars);
    expect(f.task).toMatch(/\(limit failureNameMaxChars\)\]$/);
    expect(ev.error).toMatch(/\(limit busReasonMaxChars\)\]$/);
    const many = runEventSchema.parse(exited(Array.from({ length: 500 }, () => ({ host: 'h', task: 't', msg: 'm' }))));
    expect(many.kind === 'exited' && many.failures.length).toBe(Limits.failuresMax);
  });

  it('one line of a failure message: white space around line breaks becomes " | ", as before', () => {
    expect(oneLine('  disk full\n\n   on /srv  \r\n retry  later ', 200)).toBe('disk full | on /srv | retry  later');
    expect(oneLine(`${' '.repeat(100_000)}\nx`, 200)).toBe('');
    expect(oneLine('a'.repeat(1000), 200)).toHaveLength(200);
  });

  // Each string of an exit or rejection at size N and 4N (4N past what one NATS message
  // carries): parsing it and stepping the job costs linear time, not quadratic (ratio ~4, not 16).
  it.each([
    ['failure message', (s: string) => exited([{ host: 'h', task: 't', msg: s }])],
    ['failure host', (s: string) => exited([{ host: s, task: 't', msg: 'm' }])],
    ['failure task', (s: string) => exited([{ host: 'h', task: s, msg: 'm' }])],
    ['start error', (s: string) => exited([], s)],
    ['output value', (s: string) => ({ ...exited([]), outputs: { V: s } })],
    ['rejection reason', (s: string) => ({ kind: 'rejected', node: 'n1', token: { job: 'j', stage: 'a', attempt: 1 }, reason: s })],
  ])('%s: cost grows linearly with its size', (_what, make) => {
    const spec = jobSpecSchema.parse({ name: 'lin', stages: [stage('a'), stage('b')] });
    const once = (size: number) => {
      // the worst case of the old regex: a long run of white space before a line break
      const text = JSON.stringify(make(`${' '.repeat(size - 2)}\nx`));
      return () => {
        const job = newJobRecord('j', spec, 1, null);
        step(job, { kind: 'place', place: () => ({ ok: true, node: 'n1' }), runRootOf: () => '' }, 1);
        const ev = runEventSchema.parse(JSON.parse(text));
        const token = ev.token;
        step(job, ev.kind === 'rejected' ? { kind: 'rejected', token, reason: ev.reason } : ev.kind === 'exited' ? { kind: 'exited', token, report: ev } : { kind: 'started', token, startedAt: 1 }, 2);
      };
    };
    const n = 256 * 1024;
    const ratio = costRatio(once(n), once(4 * n), 2);
    expect(ratio).toBeLessThan(10);
  });
});

describe('the skip cascade', () => {
  /** A chain written backwards (each stage needs the one after it), the worst order for a pass in file order. */
  function chain(n: number): JobSpec {
    return {
      name: 'chain',
      stages: Array.from({ length: n }, (_, i) => ({ name: `s${i}`, on: { node: 'n1' }, run: { command: ['true'] }, needs: i === n - 1 ? [] : [`s${i + 1}`] })),
    } as JobSpec;
  }

  it('settles a failed first stage of stagesMax stages in one pass, in linear time', () => {
    const settle = (n: number) => {
      const spec = chain(n);
      return () => {
        const job = newJobRecord('j', spec, 1, null);
        advance(job, 1, () => ({ ok: true, node: 'n1' }));
        applyExited(job, { job: 'j', stage: `s${n - 1}`, attempt: 1 }, { exitCode: 1, signal: null, endedAt: 2, logBytes: 0, stopReason: null, vanished: false }, 2);
        advance(job, 3, () => ({ ok: true, node: 'n1' }));
        if (job.state !== 'failed' || job.stages[0]!.state !== 'skipped') throw new Error(`not settled: ${job.state}`);
      };
    };
    const n = Limits.stagesMax / 4;
    // the old pass-until-nothing-changes loop was cubic here (ratio ~64)
    const ratio = costRatio(settle(n), settle(4 * n), 5);
    expect(ratio).toBeLessThan(10);
  });
});

describe('log cap', () => {
  const max = 100;
  const bytes = (n: number) => new Uint8Array(n).fill(97);

  it('relays chunks below the cap whole', () => {
    expect(capLogChunk(0, bytes(100), max)).toMatchObject({ head: bytes(100), marker: undefined });
  });

  it('cuts the chunk that crosses the cap and ends it with a line naming the limit', () => {
    const r = capLogChunk(60, bytes(64), max);
    expect(r.head).toHaveLength(40);
    expect(Buffer.from(r.marker!).toString()).toBe(logTruncatedLine(max));
    expect(logTruncatedLine(max)).toContain('meshrun: log truncated at 100 bytes (limit logMaxBytesPerRun)');
    // a chunk starting exactly at the cap carries only the marker
    expect(capLogChunk(100, bytes(10), max)).toMatchObject({ head: bytes(0) });
    expect(capLogChunk(100, bytes(10), max).marker).toBeDefined();
  });

  it('relays nothing past the cap', () => {
    expect(capLogChunk(164, bytes(64), max)).toMatchObject({ head: bytes(0), marker: undefined });
  });
});

describe('artifact object names', () => {
  it('differ for runs whose names join the same with "-"', () => {
    const a = artifactObject({ job: 'coll', stage: 'x-build', attempt: 1 });
    const b = artifactObject({ job: 'coll-x', stage: 'build', attempt: 1 });
    expect(a).not.toBe(b);
  });
});

describe('workspace uploads', () => {
  /** An object store in memory whose put reads the stream as the real one does (and keeps nothing on error). */
  function memoryStore() {
    const objects = new Map<string, Buffer>();
    return {
      objects,
      has: async (name: string) => objects.has(name),
      putStream: async (name: string, _d: string, data: ReadableStream<Uint8Array>) => {
        const parts: Buffer[] = [];
        for await (const c of Readable.fromWeb(data as never)) parts.push(Buffer.from(c as Uint8Array));
        objects.set(name, Buffer.concat(parts));
        return {} as never;
      },
    };
  }
  const log = silentLogger;

  it('streams an archive in, checking its claimed sha256; a mismatch stores nothing', async () => {
    const store = memoryStore();
    const up = new WorkspaceUploads(store, log);
    const data = Buffer.from('archive bytes '.repeat(1000));
    const sha = createHash('sha256').update(data).digest('hex');
    const u = up.begin('admin', sha);
    await u.write(data.subarray(0, 5000));
    await u.write(data.subarray(5000));
    expect(await u.finish()).toEqual({ sha256: sha, size: data.length, existed: false });
    expect(store.objects.get(`ws-${sha}`)).toEqual(data);
    const bad = up.begin('admin', 'f'.repeat(64));
    await bad.write(data);
    await expect(bad.finish()).rejects.toThrow(/damaged.*nothing was stored/);
    expect(store.objects.has(`ws-${'f'.repeat(64)}`)).toBe(false);
    expect(up.active).toBe(0);
  });

  it('refuses uploads over the per-caller and total limits, naming them, and frees a slot when one ends', async () => {
    const up = new WorkspaceUploads(memoryStore(), log, { perCaller: 2, total: 3 });
    const sha = 'a'.repeat(64);
    const a1 = up.begin('alice', sha);
    up.begin('alice', sha);
    const err = (() => {
      try {
        up.begin('alice', sha);
      } catch (e) {
        return e;
      }
    })();
    expect(isMeshrunError(err) && err.code).toBe('TOO_LARGE');
    expect((err as Error).message).toMatch(/limit workspaceUploadsPerCaller/);
    up.begin('bob', sha);
    expect(() => up.begin('carol', sha)).toThrow(/limit workspaceUploadsTotal/);
    a1.abort('test');
    expect(() => up.begin('carol', sha)).not.toThrow();
  });

  it('refuses an archive over workspaceMaxBytes, naming the limit', async () => {
    const up = new WorkspaceUploads(memoryStore(), log, { maxBytes: 10 });
    const u = up.begin('admin', 'b'.repeat(64));
    await expect(u.write(Buffer.alloc(11))).rejects.toThrow(/limit workspaceMaxBytes/);
    expect(up.active).toBe(0);
  });
});
