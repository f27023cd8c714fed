// One agent per state directory. Two agents on one directory would both adopt, start and
// report the same runs, so the second refuses to start, naming the holder's pid.
//
// The lock is a listening socket in Linux's abstract namespace, named for the directory's
// device and inode: binding it is atomic, and the kernel releases it the moment the holder
// exits, however it exits (kill -9 included) - no stale lock file to guess about. The
// holder's pid is written beside it, for the message. Abstract sockets belong to a network
// namespace: agents in different namespaces on one directory are not detected.
import { createServer, type Server } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, MeshrunError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/write-file-atomic.js';
import { ensurePrivateDir } from './runner/paths.js';

export interface StateLock {
  release(): void;
}

export async function lockStateDir(stateDir: string): Promise<StateLock> {
  ensurePrivateDir(stateDir);
  const st = statSync(stateDir);
  const name = `\0meshrun-agent:${st.dev}:${st.ino}`;
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return reject(err);
      const holder = readPid(stateDir);
      reject(new MeshrunError(ErrorCode.Conflict, `state directory ${stateDir} is in use by another agent${holder ? ` (pid ${holder})` : ''}: one agent per state directory (stop it, or give this one its own --state-dir)`));
    });
    server.listen({ path: name, exclusive: true }, () => resolve());
  });
  server.unref();
  writeFileAtomic(join(stateDir, 'agent.pid'), `${process.pid}\n`, 0o644);
  return { release: () => server.close() };
}

function readPid(stateDir: string): number | undefined {
  try {
    const n = Number(readFileSync(join(stateDir, 'agent.pid'), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
