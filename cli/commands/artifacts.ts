// `meshrun artifacts JOB [-o DIR]`: downloads every stage's stored artifacts and unpacks each
// stage's latest into DIR/<stage>/ (a stage on all nodes: each node's latest into
// DIR/<stage>/<node>/) with the same safe rules as workspaces.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { ArtifactChunkMsg } from '../../proto/grpc.js';
import { extractArtifacts } from '../../lib/workspace/index.js';
import type { MeshrunClient } from '../client.js';
import { ExitCode, ExitError } from '../exit.js';
import { isValidName } from '../../proto/names.js';

export interface ArtifactsOptions {
  output?: string;
  json?: boolean;
}

export async function artifactsCmd(client: MeshrunClient, id: string, o: ArtifactsOptions): Promise<number> {
  await client.ready();
  const out = resolve(o.output ?? `artifacts-${id}`);
  const archives = await download(client, id);
  if (archives.length === 0) {
    process.stderr.write(`job ${id} has no stored artifacts\n`);
    return ExitCode.Ok;
  }
  const written: { stage: string; attempt: number; node: string | null; dir: string; files: string[] }[] = [];
  // a stage tried more than once (retry, or a later run of the job) keeps its latest attempt's
  // (a stage on all nodes: each node's): they come one attempt after another, so the last one wins
  const latest = new Map<string, (typeof archives)[number]>();
  for (const a of archives) latest.set(`${a.stage}\0${a.node}`, a);
  for (const a of latest.values()) {
    // a node name becomes a directory: only the names meshrun allows (no "/" or "..")
    if (a.node !== '' && !isValidName(a.node)) throw new ExitError(ExitCode.Error, `artifacts of ${a.stage} attempt ${a.attempt} name an invalid node ${JSON.stringify(a.node)}`);
    const dir = a.node ? join(out, a.stage, a.node) : join(out, a.stage);
    if (existsSync(dir)) throw new ExitError(ExitCode.Usage, `${dir} exists: choose another -o DIR`);
    await extractArtifacts(a.data, dir);
    written.push({ stage: a.stage, attempt: a.attempt, node: a.node || null, dir, files: a.files });
  }
  if (o.json) process.stdout.write(JSON.stringify(written, null, 2) + '\n');
  else for (const w of written) process.stdout.write(`${w.stage}${w.node ? ` [${w.node}]` : ''}: ${w.files.length} file(s) -> ${w.dir}\n`);
  return ExitCode.Ok;
}

function download(client: MeshrunClient, id: string): Promise<{ stage: string; attempt: number; node: string; files: string[]; data: Buffer }[]> {
  return new Promise((res, rej) => {
    const got: { stage: string; attempt: number; node: string; files: string[]; data: Buffer }[] = [];
    let parts: Buffer[] = [];
    let files: string[] = [];
    let expected = '';
    let failed = false;
    const call = client.getArtifacts(id);
    call.on('data', (c: ArtifactChunkMsg) => {
      if (failed) return;
      if (c.files.length) files = c.files;
      if (c.sha256) expected = c.sha256;
      parts.push(c.data);
      if (c.last) {
        const data = Buffer.concat(parts);
        const sha256 = createHash('sha256').update(data).digest('hex');
        if (sha256 !== expected) {
          // nothing of a damaged or unverifiable archive is unpacked
          failed = true;
          call.cancel();
          rej(new ExitError(ExitCode.Error, `artifacts of ${c.stage} attempt ${c.attempt} are damaged: content hash ${sha256.slice(0, 12)}, expected ${expected ? expected.slice(0, 12) : '(none sent)'}`));
          return;
        }
        got.push({ stage: c.stage, attempt: c.attempt, node: c.node, files, data });
        parts = [];
        files = [];
        expected = '';
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (!failed) rej(client.mapError(err));
    });
    call.on('end', () => res(got));
  });
}
