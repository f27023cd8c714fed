// The dashboard's pure parts: logins and sessions (one use, expiry, bounds, CSRF), the job
// list's filter and pages, log resume ids, and the per-host playbook fold.
import { describe, expect, it } from 'vitest';
import { csrfMatches, SessionStore } from '../coordinator/web/sessions.js';
import { JobList, type JobSource } from '../coordinator/web/job-list.js';
import { initialRunProgress, reduceRunProgress } from '../coordinator/web/playbook-hosts.js';
import { formatResumeId, jobsQuerySchema, parseResumeId, resumeIdSchema, webLoginBodySchema } from '../proto/web.js';
import { newJobRecord } from '../coordinator/job-machine.js';
import { jobSpecSchema } from '../proto/job-spec.js';
import type { JobRecord } from '../proto/records.js';
import type { AnsibleEvent } from '../proto/ansible-events.js';

const limits = { sessionsMax: 3, sessionsPerUser: 2, sessionTtlMs: 1000, loginTokensMax: 3, loginTokensPerUser: 2, loginTokenTtlMs: 100 };

describe('web sessions', () => {
  it('a login token opens one session, once; an unknown or expired one none', () => {
    let now = 0;
    const s = new SessionStore(limits, () => now);
    const { token } = s.issueLogin('olga', 'operator', 0);
    expect(webLoginBodySchema.safeParse({ token }).success).toBe(true);
    const { id, session } = s.redeem(token);
    expect(session).toMatchObject({ user: 'olga', role: 'operator', expiresAt: 1000 });
    expect(s.get(id)?.user).toBe('olga');
    expect(() => s.redeem(token)).toThrow(/unknown, used or expired/);
    const late = s.issueLogin('olga', 'operator', 0).token;
    now = 101;
    expect(() => s.redeem(late)).toThrow(/unknown, used or expired/);
    now = 1001;
    expect(s.get(id)).toBeUndefined();
  });

  it('a session ends with the certificate it was issued for, if that is sooner', () => {
    const s = new SessionStore(limits, () => 0);
    expect(s.redeem(s.issueLogin('vic', 'viewer', 400).token).session.expiresAt).toBe(400);
  });

  it('bounds waiting logins per user and in all, and sessions per user and in all (the oldest goes)', () => {
    const s = new SessionStore(limits, () => 0);
    const a = [s.issueLogin('a', 'viewer', 0), s.issueLogin('a', 'viewer', 0)];
    expect(() => s.issueLogin('a', 'viewer', 0)).toThrow(/2 unused web login tokens, the most one user may have/);
    s.issueLogin('b', 'viewer', 0);
    expect(() => s.issueLogin('c', 'viewer', 0)).toThrow(/3 web login tokens are waiting/);
    const first = s.redeem(a[0]!.token).id;
    const second = s.redeem(a[1]!.token).id;
    const third = s.redeem(s.issueLogin('a', 'viewer', 0).token).id;
    expect(s.get(first)).toBeUndefined();
    expect(s.get(second)).toBeDefined();
    expect(s.get(third)).toBeDefined();
    s.redeem(s.issueLogin('c', 'viewer', 0).token);
    s.redeem(s.issueLogin('d', 'viewer', 0).token);
    expect(s.size.sessions).toBe(3);
    s.endUser('a');
    expect(s.get(second)).toBeUndefined();
  });

  it('the CSRF header must be the session\'s token', () => {
    const s = new SessionStore(limits, () => 0);
    const { session } = s.redeem(s.issueLogin('o', 'operator', 0).token);
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(csrfMatches(session, session.csrf.slice(1) + 'x')).toBe(false);
  });
});

function job(id: string, name: string, at: number, state: JobRecord['state'], node: string, schedule = ''): JobRecord {
  const spec = jobSpecSchema.parse({ name, stages: [{ name: 's', on: { node }, run: { command: ['true'] } }] });
  const j = newJobRecord(id, spec, at, null);
  j.state = state;
  j.endedAt = state === 'running' ? null : at + 1;
  j.stages[0]!.attempts.push({ attempt: 1, node, state: state === 'running' ? 'running' : 'succeeded', exitCode: null, reason: '', assignedAt: at, startedAt: at, endedAt: null, runDir: '', logBytes: null, staleResult: null, failures: [], artifacts: null, outputs: {} } as unknown as JobRecord['stages'][number]['attempts'][number]);
  if (schedule) j.schedule = { name: schedule, tick: at };
  return j;
}

describe('the web job list', () => {
  const jobs = [job('j1', 'build', 1, 'succeeded', 'alpha'), job('j2', 'deploy', 2, 'failed', 'beta', 'nightly'), job('j3', 'build', 3, 'running', 'beta'), job('j4', 'build', 4, 'succeeded', 'alpha')];
  const reads: string[] = [];
  const src: JobSource = {
    jobIds: () => ({ newest: ['j4', 'j2', 'j1'], more: true, active: ['j3'] }),
    peekJob: (id) => (id === 'j3' ? jobs[2] : undefined),
    getJob: async (id) => {
      reads.push(id);
      return jobs.find((j) => j.id === id);
    },
  };
  const q = (o: Record<string, unknown>) => jobsQuerySchema.parse(o);

  it('filters by state, name, node and schedule, newest first, active jobs older than the scan included', async () => {
    const list = new JobList(src, 3);
    expect((await list.page(q({}))).jobs.map((j) => j.id)).toEqual(['j4', 'j3', 'j2', 'j1']);
    expect((await list.page(q({ state: 'active' }))).jobs.map((j) => j.id)).toEqual(['j3']);
    expect((await list.page(q({ state: 'ended', node: 'alpha' }))).jobs.map((j) => j.id)).toEqual(['j4', 'j1']);
    expect((await list.page(q({ name: 'DEP' }))).jobs.map((j) => j.id)).toEqual(['j2']);
    expect((await list.page(q({ schedule: 'nightly' }))).jobs.map((j) => j.id)).toEqual(['j2']);
    const p = await list.page(q({ size: 2, page: 1 }));
    expect(p).toMatchObject({ total: 4, page: 1, size: 2, more: true });
    expect(p.jobs.map((j) => j.id)).toEqual(['j2', 'j1']);
    // a finished job's row is read from the store once
    expect(reads.filter((id) => id === 'j1')).toHaveLength(1);
  });

  it('refuses a page size past the limit and an unknown state, naming the field', () => {
    expect(jobsQuerySchema.safeParse({ size: '500' }).error?.issues[0]?.message).toMatch(/at most 200 jobs a page/);
    expect(jobsQuerySchema.safeParse({ state: 'bogus' }).success).toBe(false);
    expect(jobsQuerySchema.safeParse({ colour: 'red' }).success).toBe(false);
  });
});

describe('log resume ids', () => {
  it('round-trip, and anything else is refused', () => {
    const held = [{ stage: 0, attempt: 1, offset: 123 }, { stage: 2, attempt: 3, offset: 0 }];
    const id = formatResumeId(held);
    expect(resumeIdSchema.parse(id)).toBe(id);
    expect([...parseResumeId(id).values()]).toEqual(held);
    expect(parseResumeId('').size).toBe(0);
    for (const bad of ['x', '1.2', '1.2.3;', '1.2.3,', 'a.b.c']) expect(resumeIdSchema.safeParse(bad).success, bad).toBe(false);
  });
});

describe('per-host playbook progress', () => {
  it('counts each host\'s results once, however often the events are replayed', () => {
    const evs = [
      { type: 'task_start', seq: 1, ts: 0, play: 'p', task: 't1' },
      { type: 'host_result', seq: 2, ts: 0, task: 't1', host: 'web1', status: 'ok' },
      { type: 'host_result', seq: 3, ts: 0, task: 't1', host: 'web2', status: 'failed', msg: 'boom' },
    ] as unknown as AnsibleEvent[];
    let r = initialRunProgress();
    for (const e of [...evs, ...evs]) r = reduceRunProgress(r, e);
    expect(r.hosts.web1?.counts.ok).toBe(1);
    expect(r.hosts.web2).toMatchObject({ lastTask: 't1', lastStatus: 'failed' });
    expect(r.hosts.web2?.counts.failed).toBe(1);
  });
});
