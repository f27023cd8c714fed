// Unit tests for reading a run token (and channel) back out of an output subject.

import { describe, expect, it } from 'vitest';
import { parseOutputSubject, Subjects, tokenFromLogSubject } from '../proto/subjects.js';

describe('tokenFromLogSubject / parseOutputSubject', () => {
  it('parses mr.out.<job>.<stage>.<attempt>.log', () => {
    expect(tokenFromLogSubject('mr.out.j-1.site_lab.3.log')).toEqual({ job: 'j-1', stage: 'site_lab', attempt: 3 });
  });

  it('round-trips Subjects.log and Subjects.playbookEvents', () => {
    const t = { job: '01HZX', stage: 'cleanup', attempt: 12 };
    expect(Subjects.log(t)).toBe('mr.out.01HZX.cleanup.12.log');
    expect(tokenFromLogSubject(Subjects.log(t))).toEqual(t);
    expect(parseOutputSubject(Subjects.playbookEvents(t))).toEqual({ token: t, channel: 'pev' });
    expect(tokenFromLogSubject(Subjects.playbookEvents(t))).toBeUndefined();
  });

  it.each([
    'mr.out.j.s.1',
    'mr.out.j.s.1.x',
    'mr.evt.j.s.1.log',
    'xx.out.j.s.1.log',
    'mr.out.j.s.0.log',
    'mr.out.j.s.-1.log',
    'mr.out.j.s.1.5.log',
    'mr.out.j.s.abc.log',
    'mr.out.j.s..log',
    'mr.node.n1.hb',
    '',
  ])('%j is not a log subject', (subject) => {
    expect(tokenFromLogSubject(subject)).toBeUndefined();
  });

  it('the job wildcard covers the log and events of each of its attempts, not other jobs', () => {
    expect(Subjects.jobOutput('j1')).toBe('mr.out.j1.>');
    expect(Subjects.log({ job: 'j1', stage: 's', attempt: 1 }).startsWith('mr.out.j1.')).toBe(true);
    expect(Subjects.playbookEvents({ job: 'j1', stage: 's', attempt: 1 }).startsWith('mr.out.j1.')).toBe(true);
    expect(Subjects.log({ job: 'j10', stage: 's', attempt: 1 }).startsWith('mr.out.j1.')).toBe(false);
  });
});
