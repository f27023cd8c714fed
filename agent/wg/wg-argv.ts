// Pure argv building and name/key validation for wg-tool, kept apart so it is unit-testable
// without running anything: every name here may end up in a path or an argv.

import { InvalidInputError } from '../../lib/errors.js';
import { isWgKey } from '../../proto/mesh-hash.js';

/** What `wg set` should change on one peer; an absent field is left as it is. */
export interface PeerSettings {
  publicKey: string;
  endpoint?: string;
  allowedIps?: readonly string[];
  /** Seconds; 0 turns it off. */
  persistentKeepalive?: number;
}

const PEERS_PER_CALL = 250;

/** Pure: the argv lists (after `wg`) for a batch, removals first, chunked to bound argv size. */
export function buildSetPeersArgs(name: string, set: readonly PeerSettings[], remove: readonly string[]): string[][] {
  const parts: string[][] = [
    ...remove.map((k) => ['peer', checkKey(k), 'remove']),
    ...set.map((p) => {
      const a = ['peer', checkKey(p.publicKey)];
      if (p.endpoint !== undefined) a.push('endpoint', p.endpoint);
      if (p.allowedIps !== undefined) a.push('allowed-ips', p.allowedIps.join(','));
      if (p.persistentKeepalive !== undefined) {
        a.push('persistent-keepalive', p.persistentKeepalive > 0 ? String(p.persistentKeepalive) : 'off');
      }
      return a;
    }),
  ];
  const out: string[][] = [];
  for (let i = 0; i < parts.length; i += PEERS_PER_CALL) {
    out.push(['set', name, ...parts.slice(i, i + PEERS_PER_CALL).flat()]);
  }
  return out;
}

function checkKey(k: string): string {
  if (!isWgKey(k)) throw new InvalidInputError(`not a WireGuard key: ${JSON.stringify(k)}`);
  return k;
}

/** Interface names become socket paths and must be unique machine-wide (IFNAMSIZ is 16). */
export function checkIfname(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(name)) throw new InvalidInputError(`bad interface name: ${JSON.stringify(name)}`);
  return name;
}

export function checkNetns(ns: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(ns)) throw new InvalidInputError(`bad netns name: ${JSON.stringify(ns)}`);
  return ns;
}
