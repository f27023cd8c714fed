// Pure parser for `wg show IF dump`: the one place that knows its tab-separated layout,
// unit-tested against output recorded from real wireguard-go interfaces.

import { InvalidInputError } from '../../lib/errors.js';

export interface WgInterfaceInfo {
  /** The private key is printed by wg but deliberately not kept: it must never travel. */
  hasPrivateKey: boolean;
  publicKey: string | undefined;
  listenPort: number;
  /** 0 when wg prints `off`. */
  fwmark: number;
}

export interface WgDumpPeer {
  publicKey: string;
  /** True when a preshared key is set; like the private key, its value is not kept. */
  hasPresharedKey: boolean;
  endpoint: string | undefined;
  allowedIps: string[];
  /** Epoch seconds of the latest handshake, 0 = never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  /** Seconds, 0 when wg prints `off`. */
  persistentKeepalive: number;
}

export interface WgDump {
  interface: WgInterfaceInfo;
  peers: WgDumpPeer[];
}

const NONE = '(none)';

/** Parses the output of `wg show IF dump` (one interface: no leading interface-name column). */
export function parseDump(text: string): WgDump {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const [head, ...rest] = lines;
  if (head === undefined) throw new InvalidInputError('wg dump is empty');
  const f = head.split('\t');
  if (f.length !== 4) throw new InvalidInputError(`wg dump interface line has ${f.length} fields, want 4`);
  const iface: WgInterfaceInfo = {
    hasPrivateKey: f[0] !== NONE,
    publicKey: optional(f[1]),
    listenPort: int(f[2], 'listen port'),
    fwmark: f[3] === 'off' ? 0 : int(f[3], 'fwmark'),
  };
  return { interface: iface, peers: rest.map(parsePeerLine) };
}

function parsePeerLine(line: string): WgDumpPeer {
  const f = line.split('\t');
  if (f.length !== 8) throw new InvalidInputError(`wg dump peer line has ${f.length} fields, want 8`);
  const [publicKey = '', psk, endpoint, allowed, handshake, rx, tx, keepalive] = f;
  return {
    publicKey,
    hasPresharedKey: psk !== NONE,
    endpoint: optional(endpoint),
    allowedIps: allowed === NONE || !allowed ? [] : allowed.split(','),
    latestHandshake: int(handshake, 'latest handshake'),
    rxBytes: int(rx, 'rx bytes'),
    txBytes: int(tx, 'tx bytes'),
    persistentKeepalive: keepalive === 'off' ? 0 : int(keepalive, 'persistent keepalive'),
  };
}

function optional(v: string | undefined): string | undefined {
  return v === undefined || v === NONE || v === '' ? undefined : v;
}

function int(v: string | undefined, what: string): number {
  // fwmark is printed as 0x.. hex; everything else is decimal.
  const n = v !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidInputError(`wg dump: bad ${what} ${JSON.stringify(v)}`);
  return n;
}
