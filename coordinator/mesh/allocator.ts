// Mesh address allocation, pure: the lowest free host address of the mesh CIDR. Stability
// comes from the caller, which persists every allocation and passes all live ones as `used`.
import { isIPv4 } from 'node:net';
import { InvalidInputError, MeshrunError, ErrorCode } from '../../lib/errors.js';

export interface Ipv4Net {
  /** Network address as an unsigned 32-bit number (host bits zero). */
  network: number;
  bits: number;
}

export function ipToInt(ip: string): number {
  if (!isIPv4(ip)) throw new InvalidInputError(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/**
 * `10.99.0.0/16` -> network and prefix length. Host bits must be zero (a typo such as
 * 10.99.1.0/16 is refused rather than silently widened); /31 and /32 leave no room for a mesh.
 */
export function parseMeshCidr(cidr: string): Ipv4Net {
  const [ip, bitsText, extra] = cidr.trim().split('/');
  if (ip === undefined || bitsText === undefined || extra !== undefined || !/^\d{1,2}$/.test(bitsText)) {
    throw new InvalidInputError(`mesh CIDR ${JSON.stringify(cidr)}: expected an IPv4 prefix like 10.99.0.0/16`);
  }
  if (!isIPv4(ip)) throw new InvalidInputError(`mesh CIDR ${cidr}: only IPv4 ranges are supported`);
  const bits = Number(bitsText);
  if (bits < 8 || bits > 30) throw new InvalidInputError(`mesh CIDR ${cidr}: prefix length must be between 8 and 30`);
  const addr = ipToInt(ip);
  const size = 2 ** (32 - bits);
  if (addr % size !== 0) throw new InvalidInputError(`mesh CIDR ${cidr}: host bits are set (did you mean ${intToIp(addr - (addr % size))}/${bits}?)`);
  return { network: addr, bits };
}

export function formatNet(net: Ipv4Net): string {
  return `${intToIp(net.network)}/${net.bits}`;
}

export function contains(net: Ipv4Net, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const n = ipToInt(ip);
  return n >= net.network && n < net.network + 2 ** (32 - net.bits);
}

/** Usable host addresses: everything but the network and broadcast addresses. */
export function capacity(net: Ipv4Net): number {
  return 2 ** (32 - net.bits) - 2;
}

/** The lowest host address of `net` not in `used`; throws when the CIDR is full. */
export function allocateAddress(net: Ipv4Net, used: Iterable<string>): string {
  const taken = new Set<number>();
  for (const u of used) if (contains(net, u)) taken.add(ipToInt(u));
  const first = net.network + 1;
  const last = net.network + 2 ** (32 - net.bits) - 2;
  for (let n = first; n <= last; n++) {
    if (!taken.has(n)) return intToIp(n);
  }
  throw new MeshrunError(ErrorCode.Conflict, `mesh CIDR ${formatNet(net)} is full (${capacity(net)} addresses in use); remove nodes or configure a larger --mesh-cidr`);
}
