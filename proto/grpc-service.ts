// The client API's service for grpc-js, at both ends. Nothing else here: the CLI's client needs
// only this, not the request schemas of grpc.ts. The .proto is not parsed at run time: its
// protobufjs JSON (generated/descriptor.ts, written by scripts/gen-proto-types.mjs and checked
// fresh by test/unit-grpc-types.test.ts) loads in a fraction of the time.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { meshrunDescriptor } from './generated/descriptor.js';

/** How messages look in JavaScript; scripts/gen-proto-types.mjs generates the types with the same options. */
export const protoOptions = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

const definition = protoLoader.fromJSON(meshrunDescriptor, protoOptions);
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  meshrun: { v1: { Meshrun: grpc.ServiceClientConstructor } };
};

export const MeshrunService = pkg.meshrun.v1.Meshrun;
export const meshrunServiceDefinition = MeshrunService.service;

export { LEADER_METADATA } from './grpc-metadata.js';
