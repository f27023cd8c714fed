// Parser and argv-builder tests against `wg show IF dump` output recorded from real
// wireguard-go interfaces on Debian 12 (wireguard-tools v1.0.20210914, wireguard-go 0.0.20220316).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSetPeersArgs, checkIfname, createWgTool, parseDump, WgCommandError } from '../agent/wg/wg-tool.js';
import { canonicalCidr, canonicalEndpoint } from '../proto/cidr.js';
import { InvalidInputError, ToolError } from '../lib/errors.js';

const fixture = (name: string): string => readFileSync(new URL(`./fleet/fixtures/${name}`, import.meta.url), 'utf8');

describe('parseDump (recorded output)', () => {
  it('parses an interface with an active peer, a never-seen peer, fwmark and preshared key', () => {
    const text = fixture('wg-show-dump-active.txt');
    const dump = parseDump(text);
    expect(dump.interface).toEqual({
      hasPrivateKey: true,
      publicKey: 'YX65lqpw62rA3w4kKTSDMNulFCbOi8USCYp2zWE79GA=',
      listenPort: 51820,
      fwmark: 0x1234,
    });
    expect(dump.peers).toEqual([
      {
        publicKey: 'yI08A3wNgfnIhy3yFuGF64Zuzunol4MpyhZylKSH7zE=',
        hasPresharedKey: true,
        endpoint: '10.213.250.2:51821',
        allowedIps: ['10.214.250.2/32', 'fd00:214::2/128', '10.215.0.0/16'],
        latestHandshake: 1795381301,
        rxBytes: 220,
        txBytes: 456,
        persistentKeepalive: 25,
      },
      {
        publicKey: 'B7x8rlBuTm93wnaDR/Z8iTPdUNCb5Zu1xahXxWAWAnE=',
        hasPresharedKey: false,
        endpoint: undefined,
        allowedIps: ['10.214.250.3/32'],
        latestHandshake: 0,
        rxBytes: 0,
        txBytes: 0,
        persistentKeepalive: 0,
      },
    ]);
    // Private and preshared keys are printed by wg but must not survive parsing.
    const privateKey = text.split('\t')[0] ?? '';
    const psk = text.split('\n')[1]?.split('\t')[1] ?? '';
    expect(JSON.stringify(dump)).not.toContain(privateKey);
    expect(JSON.stringify(dump)).not.toContain(psk);
  });

  it('parses a peer whose endpoint was learned by roaming', () => {
    const dump = parseDump(fixture('wg-show-dump-roaming.txt'));
    expect(dump.peers[0]?.endpoint).toBe('10.213.250.1:51820');
    expect(dump.peers[0]?.persistentKeepalive).toBe(0);
  });

  it('parses a fresh interface with no key and no peers', () => {
    const dump = parseDump(fixture('wg-show-dump-fresh.txt'));
    expect(dump.interface.hasPrivateKey).toBe(false);
    expect(dump.interface.publicKey).toBeUndefined();
    expect(dump.interface.fwmark).toBe(0);
    expect(dump.peers).toEqual([]);
  });

  it('rejects malformed output with InvalidInputError', () => {
    expect(() => parseDump('')).toThrow(InvalidInputError);
    expect(() => parseDump('a\tb\tc\n')).toThrow(/4/);
    expect(() => parseDump('(none)\t(none)\t1\toff\nk\t(none)\t(none)\t(none)\tx\t0\t0\toff\n')).toThrow(/handshake/);
  });
});

describe('buildSetPeersArgs', () => {
  const k1 = 'yI08A3wNgfnIhy3yFuGF64Zuzunol4MpyhZylKSH7zE=';
  const k2 = 'B7x8rlBuTm93wnaDR/Z8iTPdUNCb5Zu1xahXxWAWAnE=';
  it('puts removals first and only the given fields', () => {
    expect(
      buildSetPeersArgs('mrw0', [{ publicKey: k1, allowedIps: ['10.0.0.1/32', '10.0.1.0/24'], persistentKeepalive: 0 }], [k2]),
    ).toEqual([
      ['set', 'mrw0', 'peer', k2, 'remove', 'peer', k1, 'allowed-ips', '10.0.0.1/32,10.0.1.0/24', 'persistent-keepalive', 'off'],
    ]);
    expect(buildSetPeersArgs('mrw0', [{ publicKey: k1, endpoint: '10.0.0.9:51820' }], [])).toEqual([
      ['set', 'mrw0', 'peer', k1, 'endpoint', '10.0.0.9:51820'],
    ]);
  });
  it('chunks large batches and refuses bad keys and names', () => {
    const many = Array.from({ length: 600 }, () => ({ publicKey: k1, allowedIps: [] }));
    expect(buildSetPeersArgs('mrw0', many, []).length).toBe(3);
    expect(() => buildSetPeersArgs('mrw0', [{ publicKey: 'nope' }], [])).toThrow(InvalidInputError);
    expect(() => checkIfname('../etc')).toThrow(InvalidInputError);
    expect(() => checkIfname('a-name-that-is-too-long')).toThrow(InvalidInputError);
  });
});

describe('canonical forms', () => {
  it('masks host bits and compresses IPv6 the way wg prints them', () => {
    expect(canonicalCidr('10.0.0.5/24')).toBe('10.0.0.0/24');
    expect(canonicalCidr('10.0.0.5')).toBe('10.0.0.5/32');
    expect(canonicalCidr('FD00:0214:0:0:0:0:0:2/128')).toBe('fd00:214::2/128');
    expect(canonicalCidr('fd00::1:2/64')).toBe('fd00::/64');
    expect(canonicalCidr('::ffff:1.2.3.4/128')).toBe('::ffff:102:304/128');
    expect(canonicalCidr('1:0:0:2:0:0:0:3/128')).toBe('1:0:0:2::3/128');
    expect(() => canonicalCidr('10.0.0.1/33')).toThrow(InvalidInputError);
    expect(() => canonicalCidr('host/32')).toThrow(InvalidInputError);
  });
  it('accepts only literal ip:port endpoints', () => {
    expect(canonicalEndpoint('10.0.0.1:51820')).toBe('10.0.0.1:51820');
    expect(canonicalEndpoint('[FD00:0::1]:51820')).toBe('[fd00::1]:51820');
    expect(() => canonicalEndpoint('example.com:51820')).toThrow(/hostname/);
    expect(() => canonicalEndpoint('10.0.0.1')).toThrow(InvalidInputError);
    expect(() => canonicalEndpoint('10.0.0.1:70000')).toThrow(InvalidInputError);
  });
});

describe('wg-tool errors', () => {
  it('throws a ToolError naming the tool, argv and stderr', async () => {
    const tool = createWgTool(async () => ({ exitCode: 1, stdout: '', stderr: 'Unable to access interface: No such device\n' }));
    const err = await tool.showDump('mrw0', { netns: 'ns1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect(err).toBeInstanceOf(WgCommandError);
    const e = err as WgCommandError;
    expect(e.tool).toBe('wg');
    expect(e.argv).toEqual(['ip', 'netns', 'exec', 'ns1', 'wg', 'show', 'mrw0', 'dump']);
    expect(e.stderr).toBe('Unable to access interface: No such device');
    expect(e.message).toContain('ip netns exec ns1 wg show mrw0 dump');
  });
  it('never puts the private key in argv (it goes through stdin)', async () => {
    const seen: (readonly string[])[] = [];
    const tool = createWgTool(async (argv, o) => {
      seen.push(argv);
      return { exitCode: 0, stdout: o?.input ? 'PUB\n' : '', stderr: '' };
    });
    expect(await tool.publicKeyOf('SECRET')).toBe('PUB');
    expect(seen).toEqual([['wg', 'pubkey']]);
  });
});
