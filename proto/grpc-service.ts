// Loads proto/meshrun.proto, once, for both ends of the client API. Nothing else here: the
// CLI's client needs only this, not the request schemas of grpc.ts.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The .proto stays in the source tree; find it from src (vitest) or dist. */
function protoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'proto', 'meshrun.proto');
    if (existsSync(p)) return p;
    const here = join(dir, 'meshrun.proto');
    if (existsSync(here)) return here;
    dir = dirname(dir);
  }
  throw new Error('proto/meshrun.proto not found next to the meshrun installation');
}

// scripts/gen-proto-types.mjs generates the message types with the same options
const definition = protoLoader.loadSync(protoPath(), {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  meshrun: { v1: { Meshrun: grpc.ServiceClientConstructor } };
};

export const MeshrunService = pkg.meshrun.v1.Meshrun;
export const meshrunServiceDefinition = MeshrunService.service;
