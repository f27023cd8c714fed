// CPU and memory as a stage requests them and a node offers them: parsing, formatting and
// the arithmetic both ends share (the zod schemas are in resources-schema.ts; this file stays
// free of zod, so the CLI's read commands can format a node without loading it).
// On the wire and in memory cpu is in millicpu and memory in bytes, both whole numbers, so
// sums of fractional requests (0.1 + 0.2) never drift.

/** An amount of resources: millicpu and bytes. A request leaves out (0) what it does not ask for. */
export interface Resources {
  cpu: number;
  memory: number;
}

export const NO_RESOURCES: Readonly<Resources> = Object.freeze({ cpu: 0, memory: 0 });

const UNIT: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
const MEMORY_RE = /^(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B|i)?$/i;
export const MEMORY_HINT = 'expected a size with a unit, like 512M or 64G (K, M, G, T: powers of 1024)';

/** Bytes of "64G", "512Mi", "1.5GiB" (K/M/G/T, binary, case-insensitive); undefined when malformed. */
export function parseMemory(s: string): number | undefined {
  const m = MEMORY_RE.exec(s.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * UNIT[m[2]!.toUpperCase()]!);
}

/** Millicpu of a cpu count (16, 0.5, 0.25). */
export function cpuToMilli(cpu: number): number {
  return Math.round(cpu * 1000);
}

/** `a` holds `b` in every dimension `b` asks for. */
export function covers(a: Resources, b: Resources): boolean {
  return a.cpu >= b.cpu && a.memory >= b.memory;
}

export function sameResources(a: Resources | undefined, b: Resources | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.cpu === b.cpu && a.memory === b.memory);
}

/** "8", "0.5", "1.25" (cpu from millicpu). */
export function formatCpu(milli: number): string {
  return String(Math.max(0, milli) / 1000);
}

/** "64 GiB", "31.9 GiB", "512 MiB": rounded down, so a free amount is never overstated. */
export function formatMemory(bytes: number): string {
  const b = Math.max(0, bytes);
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (b >= size) return `${Math.floor((b / size) * 10) / 10} ${unit}`;
  }
  return `${b} B`;
}

/**
 * "16 cpu / 64 GiB": the dimensions `shape` asks for (a request), of `amount`; both when
 * `shape` asks for neither (a node's whole capacity).
 */
export function formatResources(amount: Resources, shape: Resources = NO_RESOURCES): string {
  const both = shape.cpu === 0 && shape.memory === 0;
  const parts: string[] = [];
  if (both || shape.cpu > 0) parts.push(`${formatCpu(amount.cpu)} cpu`);
  if (both || shape.memory > 0) parts.push(formatMemory(amount.memory));
  return parts.join(' / ');
}
