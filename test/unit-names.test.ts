// Unit tests for names that become NATS subject tokens and paths, label lists from the
// CLI and config, and run token keys.

import { describe, expect, it } from 'vitest';
import { isValidName, parseLabelList, tokenKey } from '../proto/names.js';

describe('isValidName', () => {
  it.each(['a', 'build-1', 'site_lab', '0day', 'A'.repeat(63)])('%j is valid', (s) => {
    expect(isValidName(s)).toBe(true);
  });

  it.each(['', 'a.b', 'a b', 'a/b', '../a', '-a', '_a', 'a*', 'a>', 'é', 'a\n', 'A'.repeat(64)])('%j is not valid', (s) => {
    expect(isValidName(s)).toBe(false);
  });
});

describe('parseLabelList', () => {
  it('parses k=v pairs separated by commas, trimming around keys and values', () => {
    expect(parseLabelList('role=bastion,zone=lab')).toEqual({ role: 'bastion', zone: 'lab' });
    expect(parseLabelList(' role = bastion , zone=lab ')).toEqual({ role: 'bastion', zone: 'lab' });
  });

  it('takes a list (repeated CLI flags) and comma lists inside it', () => {
    expect(parseLabelList(['role=runner', 'fenced=yes,heavy=true'])).toEqual({ role: 'runner', fenced: 'yes', heavy: 'true' });
  });

  it('keeps everything after the first "=" as the value, and allows an empty value', () => {
    expect(parseLabelList('expr=a=b')).toEqual({ expr: 'a=b' });
    expect(parseLabelList('flag=')).toEqual({ flag: '' });
  });

  it('empty input and empty items give no labels', () => {
    expect(parseLabelList('')).toEqual({});
    expect(parseLabelList([])).toEqual({});
    expect(parseLabelList('a=1,,')).toEqual({ a: '1' });
  });

  it('a later duplicate key wins', () => {
    expect(parseLabelList('role=a,role=b')).toEqual({ role: 'b' });
  });

  it('accepts keys with ".", "/", "-" and "_"', () => {
    expect(parseLabelList('meshrun.io/role=x,a_b-c=y')).toEqual({ 'meshrun.io/role': 'x', 'a_b-c': 'y' });
  });

  it('a pair without "=" or without a key is named in the error', () => {
    expect(() => parseLabelList('role=a,bastion')).toThrow('label "bastion" is not of the form key=value');
    expect(() => parseLabelList('=x')).toThrow('label "=x" is not of the form key=value');
  });

  it('a bad key or a too-long value is rejected', () => {
    expect(() => parseLabelList('bad key=x')).toThrow(/^labels: /);
    expect(() => parseLabelList(`k=${'v'.repeat(129)}`)).toThrow(/^labels: /);
    expect(parseLabelList(`k=${'v'.repeat(128)}`)).toEqual({ k: 'v'.repeat(128) });
  });

  it('a bad key error explains the key alphabet', () => {
    expect(() => parseLabelList('bad key=x')).toThrow('labels: bad key: label keys must be letters, digits, ".", "/", "-", "_"');
  });
});

describe('tokenKey', () => {
  it('is job/stage/attempt', () => {
    expect(tokenKey({ job: 'j1', stage: 'build', attempt: 2 })).toBe('j1/build/2');
  });

  it('differs for each attempt of the same stage', () => {
    expect(tokenKey({ job: 'j', stage: 's', attempt: 1 })).not.toBe(tokenKey({ job: 'j', stage: 's', attempt: 11 }));
  });
});
