#!/usr/bin/env node
// Writes the TypeScript types of proto/meshrun.proto (proto-loader-gen-types, with the options
// proto/grpc-service.ts loads the .proto with) to proto/generated, or to the directory given.
// test/unit-grpc-types.test.ts regenerates into a temp dir and fails when the checked-in copy differs.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'proto', 'generated'));
const bin = join(root, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js');

rmSync(outDir, { recursive: true, force: true });
const r = spawnSync(process.execPath, [
  bin,
  // keep in step with the loadSync options in proto/grpc-service.ts
  '--longs=Number', '--enums=String', '--defaults', '--oneofs',
  '--grpcLib=@grpc/grpc-js', '--importFileExtension=.js',
  `--outDir=${outDir}`,
  'proto/meshrun.proto',
], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
