// Schema tests for the ansible events wire format: every event kind round-trips, and
// garbage lines come back as errors naming the field instead of throwing.
import { describe, expect, it } from 'vitest';
import { AnsibleEvent, parseEventLine } from '../proto/ansible-events.js';

const samples = [
  { type: 'playbook_start', ts: 1, seq: 1, playbook: '/w/site.yml' },
  { type: 'play_start', ts: 2, seq: 2, play: 'site', hosts: ['a', 'b'], taskCount: 20 },
  { type: 'play_start', ts: 2, seq: 3, play: 'site', hosts: [], taskCount: null },
  { type: 'task_start', ts: 3, seq: 4, play: 'site', task: 'install', taskIndex: 1, action: 'apt', handler: false },
  { type: 'host_result', ts: 4, seq: 5, task: 'install', host: 'a', status: 'ok' },
  { type: 'host_result', ts: 4, seq: 6, task: 'install', host: 'b', status: 'failed', msg: 'boom', rc: 2, ignoreErrors: false },
  {
    type: 'recap',
    ts: 5,
    seq: 7,
    hosts: { a: { ok: 1, changed: 0, failed: 0, skipped: 0, unreachable: 0, rescued: 0, ignored: 0 } },
  },
  { type: 'playbook_end', ts: 6, seq: 8, ok: false },
  { type: 'playbook_end', ts: 6, seq: 9, ok: false, aborted: true, signal: 'SIGTERM' },
];

describe('ansible event schemas', () => {
  it.each(samples.map((s) => [s.type, s] as const))('parses a %s line', (_type, sample) => {
    const res = parseEventLine(JSON.stringify(sample));
    expect(res).toEqual({ ok: true, event: sample });
  });

  it('tolerates the plugin adding fields later (they are dropped)', () => {
    const res = parseEventLine(JSON.stringify({ ...samples[0], future: 1 }));
    expect(res.ok).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['whitespace', '   '],
    ['torn line', '{"type":"task_start","ts":1,'],
    ['plain text', 'PLAY [site] ****'],
    ['json array', '[1,2]'],
    ['json null', 'null'],
    ['unknown type', '{"type":"nope","ts":1,"seq":1}'],
  ])('returns an error for %s', (_name, line) => {
    const res = parseEventLine(line);
    expect(res.ok).toBe(false);
  });

  it('names the bad field', () => {
    const bad = { ...samples[4], status: 'exploded' };
    const res = parseEventLine(JSON.stringify(bad));
    expect(res).toEqual({ ok: false, error: expect.stringMatching(/^status: /) });
    const noSeq = parseEventLine(JSON.stringify({ type: 'playbook_end', ts: 1, ok: true }));
    expect(noSeq).toEqual({ ok: false, error: expect.stringMatching(/^seq: /) });
  });

  it('never throws, whatever it is handed', () => {
    for (const junk of [undefined, null, 42, {}, '\u0000', '{"__proto__":{"x":1}}'] as unknown[]) {
      expect(() => parseEventLine(junk as string)).not.toThrow();
    }
  });

  it('rejects a non-positive taskIndex and seq', () => {
    expect(AnsibleEvent.safeParse({ ...samples[3], taskIndex: 0 }).success).toBe(false);
    expect(AnsibleEvent.safeParse({ ...samples[3], seq: 0 }).success).toBe(false);
  });
});
