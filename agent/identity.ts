// The agent's persistent identity: an instance id made on first start, so the
// coordinator can tell a restarted agent (same id) from a wiped one (new id).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/write-file-atomic.js';

export function loadOrCreateInstance(stateDir: string): string {
  const file = join(stateDir, 'agent.json');
  try {
    const v = (JSON.parse(readFileSync(file, 'utf8')) as { instance?: unknown }).instance;
    if (typeof v === 'string' && /^[a-z0-9]{8,32}$/.test(v)) return v;
  } catch {
    // first start
  }
  const instance = randomBytes(8).toString('hex');
  writeFileAtomic(file, JSON.stringify({ instance, createdAt: new Date().toISOString() }) + '\n');
  return instance;
}
