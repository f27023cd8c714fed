// The CLI's own protobuf codec (proto/wire-codec.ts) against protobufjs, the reference grpc-js
// codes with: for every message type of meshrun.proto and many random values, a reply decodes to
// the very object protobufjs's toObject makes with proto-loader's options (values, types and key
// order), and a request encodes to bytes protobufjs reads back as what it would have sent.
// A small descriptor of its own covers what meshrun.proto does not use yet (packed and unpacked
// lists, sint/fixed types, unknown fields, map entries with missing parts) and bad bytes.
import protobuf from 'protobufjs/light.js';
import { describe, expect, it } from 'vitest';
import { meshrunDescriptor } from '../proto/generated/descriptor.js';
import { WireCodec, WireError } from '../proto/wire-codec.js';
import { rng } from './harness/rng.js';

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

const STRINGS = ['', 'a', 'lab ✓', 'ünïcode\nline two', 'x'.repeat(200), '😀 emoji', 'role=web'];

function scalarValue(type: string, r: () => number): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  switch (type) {
    case 'string':
      return pick(STRINGS);
    case 'bool':
      return r() < 0.5;
    case 'bytes':
      return Buffer.from(Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256)));
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return pick([0, 1, -1, 127, 128, 300, -300, 2147483647, -2147483648, Math.floor(r() * 1e6) - 5e5]);
    case 'uint32':
    case 'fixed32':
      return pick([0, 1, 127, 128, 16384, 4294967295, Math.floor(r() * 1e9)]);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return pick([0, 1, -1, 1_700_000_000_123, -1_700_000_000_123, 2 ** 31, 2 ** 32, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Math.floor(r() * 2 ** 40)]);
    case 'uint64':
    case 'fixed64':
      return pick([0, 1, 2 ** 32 + 7, 1_700_000_000_123, Number.MAX_SAFE_INTEGER, Math.floor(r() * 2 ** 45)]);
    default:
      throw new Error(`no generator for ${type}`);
  }
}

/** A random plain object of `type` (what a caller hands fromObject), at most one member per oneof. */
function randomValue(type: protobuf.Type, r: () => number, depth = 0): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const chosen = new Map<string, string>();
  for (const oneof of type.oneofsArray) if (r() < 0.7) chosen.set(oneof.name, oneof.fieldsArray[Math.floor(r() * oneof.fieldsArray.length)]!.name);
  const value = (f: protobuf.Field): unknown => (f.resolvedType instanceof protobuf.Type ? (depth < 3 ? randomValue(f.resolvedType, r, depth + 1) : {}) : scalarValue(f.type, r));
  for (const f of type.fieldsArray) {
    f.resolve();
    if (f.partOf && chosen.get(f.partOf.name) !== f.name) continue;
    if (!f.partOf && r() < 0.35) continue;
    if (f instanceof protobuf.MapField) {
      const m: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) m[String(scalarValue(f.keyType, r))] = value(f);
      o[f.name] = m;
    } else if (f.repeated) o[f.name] = Array.from({ length: Math.floor(r() * 4) }, () => value(f));
    else o[f.name] = value(f);
  }
  return o;
}

function allTypes(ns: protobuf.NamespaceBase): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type) out.push(n);
    // a Type is a Namespace too: its nested types are listed as well
    if (n instanceof protobuf.Namespace) out.push(...allTypes(n));
  }
  return out;
}

/** Same values, types and key order (Buffers compare by content). */
function expectSame(actual: unknown, expected: unknown): void {
  expect(actual).toEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

const fullName = (t: protobuf.Type): string => t.fullName.slice(1);

describe('the CLI wire codec against protobufjs', () => {
  const root = protobuf.Root.fromJSON(meshrunDescriptor as protobuf.INamespace);
  const codec = new WireCodec(meshrunDescriptor);
  const types = allTypes(root);

  it('knows every message type of meshrun.proto', () => {
    expect(types.length).toBeGreaterThan(60);
    for (const t of types) expect(codec.type(fullName(t)).fields.map((f) => f.name).sort()).toEqual(t.fieldsArray.map((f) => f.name).sort());
  });

  it('decodes every message type to what protobufjs toObject gives, key order included', () => {
    const r = rng(1);
    for (const t of types) {
      for (let i = 0; i < 40; i++) {
        const bytes = t.encode(t.fromObject(randomValue(t, r))).finish();
        expectSame(codec.decode(codec.type(fullName(t)), bytes), t.toObject(t.decode(bytes), TO_OBJECT));
      }
    }
  });

  it('encodes every message type to bytes protobufjs reads as its own', () => {
    const r = rng(2);
    for (const t of types) {
      for (let i = 0; i < 40; i++) {
        const v = randomValue(t, r);
        const ours = codec.encode(codec.type(fullName(t)), v);
        const theirs = t.encode(t.fromObject(v)).finish();
        expectSame(t.toObject(t.decode(ours), TO_OBJECT), t.toObject(t.decode(theirs), TO_OBJECT));
      }
    }
  });

  it("resolves the service's methods to their request and reply types", () => {
    const m = codec.method('meshrun.v1.Meshrun', 'GetJob');
    expect(m?.request.fullName).toBe('.meshrun.v1.JobRef');
    expect(m?.response.fullName).toBe('.meshrun.v1.Job');
    expect(codec.method('meshrun.v1.Meshrun', 'NoSuch')).toBeUndefined();
  });

  it('codes a request as protobufjs fromObject would: strings for int64, base64 for bytes, numbers for strings', () => {
    const t = root.lookupType('meshrun.v1.ListJobsRequest');
    const v = { limit: '7', state: 12, withActive: 1 } as Record<string, unknown>;
    const ours = t.toObject(t.decode(codec.encode(codec.type('meshrun.v1.ListJobsRequest'), v)), TO_OBJECT);
    expect(ours).toEqual(t.toObject(t.decode(t.encode(t.fromObject(v)).finish()), TO_OBJECT));
  });

  it('refuses a value of the wrong shape with the field named, as protobufjs does', () => {
    const job = codec.type('meshrun.v1.Job');
    expect(() => codec.encode(job, { stages: 'not a list' })).toThrow(/\.meshrun\.v1\.Job\.stages: array expected/);
    expect(() => codec.encode(job, { stages: ['x'] })).toThrow(/\.meshrun\.v1\.Job\.stages: object expected/);
  });
});

/** What meshrun.proto does not use (yet), in a descriptor of the test's own. */
const EXTRA = {
  nested: {
    t: {
      nested: {
        Item: { fields: { name: { type: 'string', id: 1 }, n: { type: 'sint64', id: 2 } } },
        Mixed: {
          fields: {
            packed: { rule: 'repeated', type: 'int32', id: 1 },
            unpacked: { rule: 'repeated', type: 'uint64', id: 2, options: { packed: false } },
            s32: { type: 'sint32', id: 3 },
            f32: { type: 'fixed32', id: 4 },
            sf32: { type: 'sfixed32', id: 5 },
            f64: { type: 'fixed64', id: 6 },
            sf64: { type: 'sfixed64', id: 7 },
            items: { keyType: 'string', type: 'Item', id: 8 },
            counts: { keyType: 'int32', type: 'int64', id: 9 },
            item: { type: 'Item', id: 10 },
            flags: { rule: 'repeated', type: 'bool', id: 11 },
          },
        },
        Wider: { fields: { name: { type: 'string', id: 1 }, extra: { type: 'int64', id: 20 }, blob: { type: 'bytes', id: 21 }, late: { type: 'fixed64', id: 22 } } },
        Narrow: { fields: { name: { type: 'string', id: 1 } } },
        WithEnum: { fields: { color: { type: 'Color', id: 1 } } },
        Color: { values: { RED: 0, BLUE: 1 } },
      },
    },
  },
};

describe('the CLI wire codec beyond what meshrun.proto uses', () => {
  const root = protobuf.Root.fromJSON(EXTRA);
  const codec = new WireCodec(EXTRA);
  const mixed = root.lookupType('t.Mixed');

  it('reads lists packed and unpacked, the sint and fixed types, maps of messages and of numbers', () => {
    const r = rng(3);
    for (let i = 0; i < 300; i++) {
      const v = randomValue(mixed, r);
      const bytes = mixed.encode(mixed.fromObject(v)).finish();
      expectSame(codec.decode(codec.type('t.Mixed'), bytes), mixed.toObject(mixed.decode(bytes), TO_OBJECT));
      const ours = codec.encode(codec.type('t.Mixed'), v);
      expectSame(mixed.toObject(mixed.decode(ours), TO_OBJECT), mixed.toObject(mixed.decode(bytes), TO_OBJECT));
    }
    // a list protobufjs wrote unpacked is read as well as a packed one (a sender may do either)
    const unpacked = root.lookupType('t.Mixed').encode({ unpacked: [1, 2 ** 40] }).finish();
    expect(codec.decode(codec.type('t.Mixed'), unpacked).unpacked).toEqual([1, 2 ** 40]);
  });

  it('skips fields it does not know, of every wire type', () => {
    const wider = root.lookupType('t.Wider');
    const bytes = wider.encode(wider.fromObject({ name: 'kept', extra: -5, blob: Buffer.from('zz'), late: 9 })).finish();
    expect(codec.decode(codec.type('t.Narrow'), bytes)).toEqual({ name: 'kept' });
  });

  it('gives a map entry without its key or value the defaults, as protobufjs does', () => {
    // field 8 (items), an entry holding only a value (Item{name: 'v'}); field 9 (counts), an entry holding nothing
    const bytes = Buffer.from([0x42, 0x05, 0x12, 0x03, 0x0a, 0x01, 0x76, 0x4a, 0x00]);
    expectSame(codec.decode(codec.type('t.Mixed'), bytes), mixed.toObject(mixed.decode(bytes), TO_OBJECT));
  });

  it('refuses bytes that end inside a field or run past their length, and never reads past the buffer', () => {
    const item = codec.type('t.Item');
    for (const bad of [[0x0a, 0x05, 0x61], [0x10], [0x10, 0xff, 0xff], [0x52, 0x09, 0x0a, 0x01], [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x0b]]) {
      expect(() => codec.decode(item, Buffer.from(bad)), JSON.stringify(bad)).toThrow(WireError);
    }
    expect(() => codec.decode(codec.type('t.Mixed'), Buffer.from([0x52, 0x09, 0x0a, 0x01]))).toThrow(WireError);
  });

  it('refuses a type it cannot code when the type is first used, naming the field', () => {
    expect(() => codec.type('t.WithEnum')).toThrow(/\.t\.WithEnum\.color: enum fields are not coded here/);
    expect(() => codec.type('t.Nope')).toThrow(/no message type t\.Nope/);
  });
});
