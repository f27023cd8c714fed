// Canonical text for IP prefixes and endpoints, so desired config compares equal to what
// `wg show dump` prints (WireGuard masks host bits and prints IPv6 in RFC 5952 form).

import { isIPv4, isIPv6 } from 'node:net';
import { InvalidInputError } from '../lib/errors.js';

/** `10.0.0.5/24` -> `10.0.0.0/24`; a bare address gets a host prefix (/32 or /128). */
export function canonicalCidr(input: string): string {
  const text = input.trim().toLowerCase();
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v6 = isIPv6(addr);
  if (!v6 && !isIPv4(addr)) throw new InvalidInputError(`not an IP prefix: ${JSON.stringify(input)}`);
  const max = v6 ? 128 : 32;
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1);
  const bits = Number(bitsText);
  if (!/^\d{1,3}$/.test(bitsText) || bits > max) {
    throw new InvalidInputError(`bad prefix length in ${JSON.stringify(input)}`);
  }
  const bytes = v6 ? parseV6(addr) : addr.split('.').map(Number);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return `${v6 ? formatV6(bytes) : bytes.join('.')}/${bits}`;
}

/** `1.2.3.4:51820` or `[fe80::1]:51820`; hostnames are refused because wg stores the resolved IP. */
export function canonicalEndpoint(input: string): string {
  const text = input.trim().toLowerCase();
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (!host || !(port > 0 && port < 65536)) throw new InvalidInputError(`not an ip:port endpoint: ${JSON.stringify(input)}`);
  if (isIPv4(host)) return `${host}:${port}`;
  if (isIPv6(host)) return `[${formatV6(parseV6(host))}]:${port}`;
  throw new InvalidInputError(`endpoint must be a literal IP, not a hostname: ${JSON.stringify(input)}`);
}

function parseV6(addr: string): number[] {
  // An embedded IPv4 tail (::ffff:1.2.3.4) is rewritten as the two hex groups it stands for.
  const text = addr.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const [head = '', rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const fill = rest === undefined ? 0 : 8 - h.length - r.length;
  const groups = [...h, ...Array<string>(fill).fill('0'), ...r].map((g) => parseInt(g || '0', 16));
  return groups.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
}

function formatV6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
