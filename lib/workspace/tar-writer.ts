// Writes a deterministic tar.gz from an ordered entry list: fixed mtime, owner and mode
// normalisation, so the same tree always gives the same bytes and is stored once by hash.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';

export type TarEntry =
  | { type: 'dir'; path: string }
  | { type: 'file'; path: string; executable: boolean; read: () => Promise<Buffer> }
  | { type: 'symlink'; path: string; target: string };

export interface TarGz {
  archive: Buffer;
  sha256: string;
}

// The epoch, not "now": any wall-clock value would change the hash of unchanged content.
const EPOCH = new Date(0);
const BLOCK = 512;

/**
 * Encode `entries` in the given order (callers sort) as ustar with pax headers for long
 * names. Only the executable bit of a file survives: 0755 or 0644, dirs 0755, links 0777.
 * `onFile` sees each file body as it is read, so callers can enforce size limits mid-way.
 */
export async function writeTarGz(entries: readonly TarEntry[], onFile?: (path: string, size: number) => void): Promise<TarGz> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(tarBlocks(entries, onFile)),
    // A fixed level: the hash depends on it, so it must not follow zlib's default.
    createGzip({ level: 6 }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out.push(chunk);
    },
  );
  const archive = Buffer.concat(out);
  return { archive, sha256: createHash('sha256').update(archive).digest('hex') };
}

async function* tarBlocks(entries: readonly TarEntry[], onFile?: (path: string, size: number) => void): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.type === 'file') {
      const body = await entry.read();
      onFile?.(entry.path, body.length);
      yield* header({ path: entry.path, type: 'File', mode: entry.executable ? 0o755 : 0o644, size: body.length });
      yield body;
      const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
      if (pad) yield Buffer.alloc(pad);
    } else if (entry.type === 'dir') {
      yield* header({ path: `${entry.path}/`, type: 'Directory', mode: 0o755, size: 0 });
    } else {
      yield* header({ path: entry.path, type: 'SymbolicLink', mode: 0o777, size: 0, linkpath: entry.target });
    }
  }
  // End of archive: two zero blocks.
  yield Buffer.alloc(BLOCK * 2);
}

function* header(h: { path: string; type: 'File' | 'Directory' | 'SymbolicLink'; mode: number; size: number; linkpath?: string }): Generator<Buffer> {
  const hdr = new Header({ ...h, uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH, linkpath: h.linkpath ?? '' });
  const block = Buffer.alloc(BLOCK);
  if (hdr.encode(block)) {
    // Long or non-ASCII names: a pax record carries the exact value, the ustar field a truncation.
    yield new Pax({ path: h.path, linkpath: h.linkpath, size: h.size > 0o77777777777 ? h.size : undefined }).encode();
  }
  yield block;
}
