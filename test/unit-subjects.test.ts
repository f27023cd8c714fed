// Unit tests for reading a run token back out of a log subject.

import { describe, expect, it } from 'vitest';
import { Subjects, tokenFromLogSubject } from '../proto/subjects.js';

describe('tokenFromLogSubject', () => {
  it('parses mr.log.<job>.<stage>.<attempt>', () => {
    expect(tokenFromLogSubject('mr.log.j-1.site_lab.3')).toEqual({ job: 'j-1', stage: 'site_lab', attempt: 3 });
  });

  it('round-trips Subjects.log', () => {
    const t = { job: '01HZX', stage: 'cleanup', attempt: 12 };
    expect(Subjects.log(t)).toBe('mr.log.01HZX.cleanup.12');
    expect(tokenFromLogSubject(Subjects.log(t))).toEqual(t);
  });

  it.each([
    'mr.log.j.s',
    'mr.log.j.s.1.x',
    'mr.evt.j.s.1',
    'xx.log.j.s.1',
    'mr.log.j.s.0',
    'mr.log.j.s.-1',
    'mr.log.j.s.1.5',
    'mr.log.j.s.abc',
    'mr.log.j.s.',
    'mr.node.n1.hb',
    '',
  ])('%j is not a log subject', (subject) => {
    expect(tokenFromLogSubject(subject)).toBeUndefined();
  });

  it('the job wildcard covers the subject of each of its attempts', () => {
    expect(Subjects.jobLogs('j1')).toBe('mr.log.j1.>');
    expect(Subjects.log({ job: 'j1', stage: 's', attempt: 1 }).startsWith('mr.log.j1.')).toBe(true);
  });
});
