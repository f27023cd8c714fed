// Unit tests for reading a run token, node and channel back out of an output subject, and
// the node out of a blob subject; and that a node's output wildcard covers only its own name.

import { describe, expect, it } from 'vitest';
import { parseBlobSubject, parseOutputSubject, Subjects, tokenFromLogSubject } from '../proto/subjects.js';

/** NATS subject matching, as the server applies a permission (`*` one token, `>` the rest). */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

describe('tokenFromLogSubject / parseOutputSubject', () => {
  it('parses mr.out.<job>.<stage>.<attempt>.<node>.log', () => {
    expect(tokenFromLogSubject('mr.out.j-1.site_lab.3.alpha.log')).toEqual({ job: 'j-1', stage: 'site_lab', attempt: 3 });
    expect(parseOutputSubject('mr.out.j-1.site_lab.3.alpha.log')).toEqual({ token: { job: 'j-1', stage: 'site_lab', attempt: 3 }, node: 'alpha', channel: 'log' });
  });

  it('round-trips Subjects.log and Subjects.playbookEvents with the node', () => {
    const t = { job: '01HZX', stage: 'cleanup', attempt: 12 };
    expect(Subjects.log(t, 'beta')).toBe('mr.out.01HZX.cleanup.12.beta.log');
    expect(tokenFromLogSubject(Subjects.log(t, 'beta'))).toEqual(t);
    expect(parseOutputSubject(Subjects.log(t, 'beta'))).toEqual({ token: t, node: 'beta', channel: 'log' });
    expect(parseOutputSubject(Subjects.playbookEvents(t, 'beta'))).toEqual({ token: t, node: 'beta', channel: 'pev' });
    expect(tokenFromLogSubject(Subjects.playbookEvents(t, 'beta'))).toBeUndefined();
  });

  it.each([
    'mr.out.j.s.1.n',
    'mr.out.j.s.1.n.x',
    'mr.out.j.s.1.log',
    'mr.evt.j.s.1.n.log',
    'xx.out.j.s.1.n.log',
    'mr.out.j.s.0.n.log',
    'mr.out.j.s.-1.n.log',
    'mr.out.j.s.1.5.n.log',
    'mr.out.j.s.abc.n.log',
    'mr.out.j.s..n.log',
    'mr.out.j.s.1..log',
    'mr.node.n1.hb',
    '',
  ])('%j is not a log subject', (subject) => {
    expect(tokenFromLogSubject(subject)).toBeUndefined();
  });

  it('the job wildcard covers the log and events of each of its attempts, not other jobs', () => {
    expect(Subjects.jobOutput('j1')).toBe('mr.out.j1.>');
    expect(matches(Subjects.jobOutput('j1'), Subjects.log({ job: 'j1', stage: 's', attempt: 1 }, 'n'))).toBe(true);
    expect(matches(Subjects.jobOutput('j1'), Subjects.playbookEvents({ job: 'j1', stage: 's', attempt: 1 }, 'n'))).toBe(true);
    expect(matches(Subjects.jobOutput('j1'), Subjects.log({ job: 'j10', stage: 's', attempt: 1 }, 'n'))).toBe(false);
    expect(matches(Subjects.outputWildcard, Subjects.log({ job: 'j10', stage: 's', attempt: 1 }, 'n'))).toBe(true);
  });

  it("a node's output wildcard covers its own chunks, never another node's", () => {
    const t = { job: 'j1', stage: 's', attempt: 2 };
    expect(matches(Subjects.nodeOutput('alpha'), Subjects.log(t, 'alpha'))).toBe(true);
    expect(matches(Subjects.nodeOutput('alpha'), Subjects.playbookEvents(t, 'alpha'))).toBe(true);
    expect(matches(Subjects.nodeOutput('alpha'), Subjects.log(t, 'beta'))).toBe(false);
    expect(matches(Subjects.nodeOutput('alpha'), Subjects.log(t, 'alpha2'))).toBe(false);
    expect(matches(Subjects.nodeOutput('alpha'), 'mr.out.j1.s.2.log')).toBe(false);
  });
});

describe('parseBlobSubject', () => {
  it('names the asking node and the operation', () => {
    expect(parseBlobSubject(Subjects.blobGet('alpha'))).toEqual({ node: 'alpha', op: 'get' });
    expect(parseBlobSubject(Subjects.blobPut('beta'))).toEqual({ node: 'beta', op: 'put' });
    expect(matches(Subjects.blobWildcard, Subjects.blobPut('beta'))).toBe(true);
  });

  it.each(['mr.blob.alpha', 'mr.blob.alpha.del', 'mr.blob..get', 'mr.blob.a.b.get', 'mr.out.alpha.get', ''])('%j is not a blob subject', (subject) => {
    expect(parseBlobSubject(subject)).toBeUndefined();
  });
});
