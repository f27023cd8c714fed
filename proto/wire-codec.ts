// Protocol Buffers' wire format for the messages of meshrun.proto, read from its descriptor
// (generated/descriptor.ts), for the CLI's lean channel (cli/h2-channel.ts). protobufjs does the
// same, but its import and its reflection of the whole descriptor cost the CLI ~20 ms of a
// ~180 ms start; this is one small module that resolves a type when a call first uses it.
// It speaks exactly as protobufjs does with proto-loader's options (longs: Number, enums:
// String, defaults: true, oneofs: true): a decoded reply is the very object grpc-js hands over,
// keys in the same order, and a request is coded as protobufjs's fromObject + encode would
// (test/unit-wire-codec.test.ts checks both against protobufjs over every message type).
// The descriptor has no enums, floats or groups today; a type it cannot code is refused when
// the type is first resolved, naming the field, so a new one fails its tests, not a user.

type Scalar = 'double' | 'float' | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32' | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64' | 'bool' | 'string' | 'bytes';

/** Wire type of each scalar: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit. */
const WIRE: Record<Scalar, number> = {
  double: 1, float: 5, int32: 0, uint32: 0, sint32: 0, fixed32: 5, sfixed32: 5,
  int64: 0, uint64: 0, sint64: 0, fixed64: 1, sfixed64: 1, bool: 0, string: 2, bytes: 2,
};
const LONG = new Set<Scalar>(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
/** Map keys protobufjs would turn into the same strings as this does (String(key)). */
const MAP_KEYS = new Set<Scalar>(['string', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'bool']);

interface DescriptorField {
  type: string;
  id: number;
  rule?: string;
  keyType?: string;
  options?: Record<string, unknown>;
}
interface DescriptorNamespace {
  nested?: Record<string, DescriptorNamespace>;
  fields?: Record<string, DescriptorField>;
  oneofs?: Record<string, { oneof: string[] }>;
  methods?: Record<string, { requestType: string; responseType: string }>;
  values?: Record<string, number>;
}

interface Field {
  name: string;
  id: number;
  /** A scalar's name, or the message type (resolved on first use: types may refer to each other). */
  scalar?: Scalar;
  message?: string;
  repeated: boolean;
  /** A map's key type; the value is `scalar` or `message`. */
  key?: Scalar;
  /** The oneof (proto3 `optional` makes one per field) this field is a member of. */
  oneof?: string;
  packed: boolean;
}

export interface MessageType {
  /** `.meshrun.v1.Job`, as protobufjs names a type in its errors. */
  readonly fullName: string;
  /** By id, as protobufjs codes them. */
  readonly fields: readonly Field[];
  readonly byId: ReadonlyMap<number, Field>;
}

/** A message the wire cannot hold, or a value a request cannot be coded from (protobufjs's TypeError). */
export class WireError extends Error {}

export class WireCodec {
  private readonly types = new Map<string, MessageType>();

  constructor(private readonly root: DescriptorNamespace) {}

  /** A service's method: its request and reply types. */
  method(service: string, name: string): { request: MessageType; response: MessageType } | undefined {
    const path = service.split('.');
    const m = this.namespace(path)?.methods?.[name];
    if (!m) return undefined;
    const scope = path.slice(0, -1);
    return { request: this.type(this.resolve(m.requestType, scope)), response: this.type(this.resolve(m.responseType, scope)) };
  }

  /** A message type by full name (`meshrun.v1.Job`). */
  type(fullName: string): MessageType {
    const known = this.types.get(fullName);
    if (known) return known;
    const path = fullName.split('.');
    const ns = this.namespace(path);
    if (!ns?.fields) throw new WireError(`no message type ${fullName} in the descriptor`);
    const oneofOf = new Map<string, string>();
    for (const [name, o] of Object.entries(ns.oneofs ?? {})) for (const member of o.oneof) oneofOf.set(member, name);
    const fields: Field[] = Object.entries(ns.fields).map(([name, f]) => {
      const where = `.${fullName}.${name}`;
      const repeated = f.rule === 'repeated';
      const field: Field = { name, id: f.id, repeated, oneof: oneofOf.get(name), packed: false };
      if (f.type in WIRE) field.scalar = f.type as Scalar;
      else {
        const target = this.resolve(f.type, path);
        if (this.namespace(target.split('.'))?.values) throw new WireError(`${where}: enum fields are not coded here (add them to proto/wire-codec.ts)`);
        field.message = target;
      }
      if (f.keyType !== undefined) {
        if (!MAP_KEYS.has(f.keyType as Scalar)) throw new WireError(`${where}: map keys of type ${f.keyType} are not coded here`);
        field.key = f.keyType as Scalar;
      }
      if (field.scalar === 'float' || field.scalar === 'double') throw new WireError(`${where}: ${field.scalar} fields are not coded here`);
      field.packed = repeated && field.key === undefined && field.scalar !== undefined && WIRE[field.scalar] !== 2 && f.options?.packed !== false;
      return field;
    });
    fields.sort((a, b) => a.id - b.id);
    const t: MessageType = { fullName: `.${fullName}`, fields, byId: new Map(fields.map((f) => [f.id, f])) };
    this.types.set(fullName, t);
    return t;
  }

  /** The reply object protobufjs's toObject would make with proto-loader's options. */
  decode(type: MessageType, bytes: Uint8Array): Record<string, unknown> {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const r = new Reader(buf);
    return this.read(type, r, buf.length);
  }

  /** The bytes protobufjs's encode(fromObject(value)) would send (field for field; see the test). */
  encode(type: MessageType, value: object): Buffer {
    const w = new Writer();
    this.write(type, value as Record<string, unknown>, w);
    return w.finish();
  }

  private namespace(path: string[]): DescriptorNamespace | undefined {
    let ns: DescriptorNamespace | undefined = this.root;
    for (const p of path) ns = ns?.nested?.[p];
    return ns;
  }

  /** A type name as the .proto wrote it, looked up from `scope` outwards, as protobuf does. */
  private resolve(name: string, scope: string[]): string {
    if (name.startsWith('.')) return name.slice(1);
    for (let i = scope.length; i >= 0; i--) {
      const candidate = [...scope.slice(0, i), ...name.split('.')];
      if (this.namespace(candidate)) return candidate.join('.');
    }
    throw new WireError(`no type ${name} from ${scope.join('.')}`);
  }

  private read(type: MessageType, r: Reader, end: number): Record<string, unknown> {
    const present = new Map<Field, unknown>();
    while (r.pos < end) {
      const tag = r.uint32();
      const field = type.byId.get(tag >>> 3);
      const wire = tag & 7;
      if (!field) {
        r.skip(wire, tag >>> 3);
        continue;
      }
      if (field.key !== undefined) {
        const map = (present.get(field) as Record<string, unknown> | undefined) ?? {};
        present.set(field, map);
        this.readMapEntry(field, r, map);
      } else if (field.repeated) {
        const list = (present.get(field) as unknown[] | undefined) ?? [];
        present.set(field, list);
        if (field.scalar !== undefined && wire === 2 && WIRE[field.scalar] !== 2) {
          const stop = r.length();
          while (r.pos < stop) list.push(r.scalar(field.scalar));
        } else list.push(this.readValue(field, r));
      } else present.set(field, this.readValue(field, r));
    }
    if (r.pos !== end) throw new WireError(`${type.fullName}: a field runs past the end of its message`);
    return this.toObject(type, present);
  }

  private readValue(field: Field, r: Reader): unknown {
    if (field.scalar !== undefined) return r.scalar(field.scalar);
    return this.read(this.type(field.message!), r, r.length());
  }

  private readMapEntry(field: Field, r: Reader, map: Record<string, unknown>): void {
    const end = r.length();
    let key: unknown = field.key === 'string' ? '' : field.key === 'bool' ? false : 0;
    let value: unknown = field.message !== undefined ? null : defaultOf(field.scalar!);
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) key = r.scalar(field.key!);
      else if (tag >>> 3 === 2) value = this.readValue(field, r);
      else r.skip(tag & 7, tag >>> 3);
    }
    map[String(key)] = value;
  }

  /** protobufjs's toObject: arrays, then maps, then the other fields' defaults, then what was on the wire. */
  private toObject(type: MessageType, present: Map<Field, unknown>): Record<string, unknown> {
    const d: Record<string, unknown> = {};
    for (const f of type.fields) if (f.oneof === undefined && f.repeated && f.key === undefined) d[f.name] = [];
    for (const f of type.fields) if (f.oneof === undefined && f.key !== undefined) d[f.name] = {};
    for (const f of type.fields) if (f.oneof === undefined && !f.repeated && f.key === undefined) d[f.name] = f.message !== undefined ? null : defaultOf(f.scalar!);
    for (const f of type.fields) {
      if (!present.has(f)) continue;
      const v = present.get(f);
      if (f.key !== undefined) {
        if (Object.keys(v as object).length > 0) d[f.name] = v;
      } else if (f.repeated) {
        if ((v as unknown[]).length > 0) d[f.name] = v;
      } else {
        d[f.name] = v;
        if (f.oneof !== undefined) d[f.oneof] = f.name;
      }
    }
    return d;
  }

  private write(type: MessageType, o: Record<string, unknown>, w: Writer): void {
    for (const f of type.fields) {
      const v = o[f.name];
      if (v === null || v === undefined) continue;
      const where = `${type.fullName}.${f.name}`;
      if (f.key !== undefined) {
        if (typeof v !== 'object') throw new WireError(`${where}: object expected`);
        for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
          w.tag(f.id, 2);
          const entry = w.fork();
          entry.tag(1, WIRE[f.key]);
          entry.scalar(f.key, mapKey(f.key, k));
          this.writeValue(f, 2, item, entry, where);
          w.join(entry);
        }
      } else if (f.repeated) {
        if (!Array.isArray(v)) throw new WireError(`${where}: array expected`);
        if (f.packed) {
          if (v.length === 0) continue;
          w.tag(f.id, 2);
          const packed = w.fork();
          for (const item of v) packed.scalar(f.scalar!, fromValue(f.scalar!, item));
          w.join(packed);
        } else for (const item of v) this.writeValue(f, f.id, item, w, where);
      } else this.writeValue(f, f.id, v, w, where);
    }
  }

  private writeValue(f: Field, id: number, v: unknown, w: Writer, where: string): void {
    if (f.scalar !== undefined) {
      w.tag(id, WIRE[f.scalar]);
      w.scalar(f.scalar, fromValue(f.scalar, v));
      return;
    }
    if (v === null || v === undefined) {
      w.tag(id, 2);
      w.uint32(0);
      return;
    }
    if (typeof v !== 'object') throw new WireError(`${where}: object expected`);
    w.tag(id, 2);
    const inner = w.fork();
    this.write(this.type(f.message!), v as Record<string, unknown>, inner);
    w.join(inner);
  }
}

function defaultOf(s: Scalar): unknown {
  if (s === 'string') return '';
  if (s === 'bool') return false;
  if (s === 'bytes') return Buffer.alloc(0);
  return 0;
}

/** A map key's string as the scalar it is on the wire. */
function mapKey(key: Scalar, k: string): unknown {
  if (key === 'string') return k;
  if (key === 'bool') return k === 'true';
  return Number(k);
}

/** protobufjs's fromObject for one scalar. */
function fromValue(s: Scalar, v: unknown): unknown {
  switch (s) {
    case 'string':
      return String(v);
    case 'bool':
      return Boolean(v);
    case 'bytes':
      if (typeof v === 'string') return Buffer.from(v, 'base64');
      if (v instanceof Uint8Array) return v;
      if (Array.isArray(v)) return Uint8Array.from(v as number[]);
      throw new WireError(`bytes expected, got ${typeof v}`);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return Number(v) | 0;
    case 'uint32':
    case 'fixed32':
      return Number(v) >>> 0;
    default:
      if (LONG.has(s)) return toBigInt(v, s === 'uint64' || s === 'fixed64');
      return Number(v);
  }
}

/** An int64 from what a request may hold (number, decimal string, bigint), as 64 bits. */
function toBigInt(v: unknown, unsigned: boolean): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'string') {
    if (!/^\s*[-+]?\d+\s*$/.test(v)) throw new WireError(`an integer expected, got ${JSON.stringify(v)}`);
    b = BigInt(v.trim());
  } else {
    const n = Number(v);
    if (!Number.isFinite(n)) return 0n;
    b = BigInt(Math.trunc(n));
  }
  return unsigned ? BigInt.asUintN(64, b) : BigInt.asIntN(64, b);
}

const TWO_32 = 4294967296;

class Reader {
  pos = 0;

  constructor(private readonly buf: Buffer) {}

  private byte(): number {
    if (this.pos >= this.buf.length) throw new WireError('the message ends inside a field');
    return this.buf[this.pos++]!;
  }

  /** A varint's low and high 32 bits. */
  private varint(): [number, number] {
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return [lo >>> 0, 0];
    }
    b = this.byte();
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) return [lo >>> 0, hi >>> 0];
    for (let shift = 3; shift < 32; shift += 7) {
      b = this.byte();
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    throw new WireError('a varint longer than 10 bytes');
  }

  uint32(): number {
    return this.varint()[0];
  }

  length(): number {
    const len = this.uint32();
    if (this.pos + len > this.buf.length) throw new WireError(`a length of ${len} runs past the end of the message`);
    return this.pos + len;
  }

  private fixed(n: 4 | 8): number {
    if (this.pos + n > this.buf.length) throw new WireError('the message ends inside a field');
    this.pos += n;
    return this.pos - n;
  }

  scalar(s: Scalar): unknown {
    switch (s) {
      case 'string': {
        const end = this.length();
        const v = this.buf.toString('utf8', this.pos, end);
        this.pos = end;
        return v;
      }
      case 'bytes': {
        const end = this.length();
        const v = this.buf.subarray(this.pos, end);
        this.pos = end;
        return v;
      }
      case 'bool':
        return this.varint()[0] !== 0;
      case 'int32':
        return this.varint()[0] | 0;
      case 'uint32':
        return this.varint()[0];
      case 'sint32': {
        const n = this.varint()[0];
        return (n >>> 1) ^ -(n & 1);
      }
      case 'fixed32':
        return this.buf.readUInt32LE(this.fixed(4));
      case 'sfixed32':
        return this.buf.readInt32LE(this.fixed(4));
      case 'int64':
        return longToNumber(...this.varint(), false);
      case 'uint64':
        return longToNumber(...this.varint(), true);
      case 'sint64': {
        const [lo, hi] = this.varint();
        const mask = -(lo & 1);
        return longToNumber(((lo >>> 1) | (hi << 31)) ^ mask, (hi >>> 1) ^ mask, false);
      }
      case 'fixed64':
      case 'sfixed64': {
        const at = this.fixed(8);
        return longToNumber(this.buf.readUInt32LE(at), this.buf.readUInt32LE(at + 4), s === 'fixed64');
      }
      default:
        throw new WireError(`${s} is not read here`);
    }
  }

  /** Past a field of no known number, as protobufjs skips it (groups included). */
  skip(wire: number, id: number, depth = 0): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.fixed(8);
    else if (wire === 5) this.fixed(4);
    else if (wire === 2) this.pos = this.length();
    else if (wire === 3) {
      if (depth > 32) throw new WireError('groups nested too deep');
      for (;;) {
        const tag = this.uint32();
        if ((tag & 7) === 4) {
          if (tag >>> 3 !== id) throw new WireError(`group ${id} ends with the end of group ${tag >>> 3}`);
          return;
        }
        this.skip(tag & 7, tag >>> 3, depth + 1);
      }
    } else throw new WireError(`field ${id} has wire type ${wire}`);
  }
}

/** protobufjs's LongBits.toNumber: a 64-bit integer as the nearest double. */
function longToNumber(lo: number, hi: number, unsigned: boolean): number {
  if (!unsigned && hi >>> 31) {
    let l = (~lo + 1) >>> 0;
    let h = ~hi >>> 0;
    if (!l) h = (h + 1) >>> 0;
    return -(l + h * TWO_32);
  }
  return (lo >>> 0) + (hi >>> 0) * TWO_32;
}

class Writer {
  private readonly parts: Uint8Array[] = [];
  private scratch: number[] = [];
  len = 0;

  private flush(): void {
    if (this.scratch.length === 0) return;
    this.parts.push(Uint8Array.from(this.scratch));
    this.scratch = [];
  }

  private push(bytes: Uint8Array): void {
    this.flush();
    this.parts.push(bytes);
    this.len += bytes.length;
  }

  tag(id: number, wire: number): void {
    this.uint32(((id << 3) | wire) >>> 0);
  }

  uint32(n: number): void {
    let v = n >>> 0;
    while (v > 0x7f) {
      this.scratch.push((v & 0x7f) | 0x80);
      v >>>= 7;
      this.len++;
    }
    this.scratch.push(v);
    this.len++;
  }

  private varint64(b: bigint): void {
    let v = BigInt.asUintN(64, b);
    while (v > 0x7fn) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
      this.len++;
    }
    this.scratch.push(Number(v));
    this.len++;
  }

  private fixed(n: 4 | 8, fill: (b: Buffer) => void): void {
    const b = Buffer.alloc(n);
    fill(b);
    this.push(b);
  }

  scalar(s: Scalar, v: unknown): void {
    switch (s) {
      case 'string':
      case 'bytes': {
        const bytes = s === 'string' ? Buffer.from(v as string, 'utf8') : (v as Uint8Array);
        this.uint32(bytes.length);
        this.push(bytes);
        return;
      }
      case 'bool':
        return this.uint32(v ? 1 : 0);
      case 'int32': {
        const n = v as number;
        // a negative int32 is sign-extended to ten bytes, as every protobuf library writes it
        return n < 0 ? this.varint64(BigInt(n)) : this.uint32(n);
      }
      case 'uint32':
        return this.uint32(v as number);
      case 'sint32': {
        const n = v as number;
        return this.uint32(((n << 1) ^ (n >> 31)) >>> 0);
      }
      case 'fixed32':
        return this.fixed(4, (b) => b.writeUInt32LE(v as number));
      case 'sfixed32':
        return this.fixed(4, (b) => b.writeInt32LE(v as number));
      case 'int64':
      case 'uint64':
        return this.varint64(v as bigint);
      case 'sint64': {
        const n = BigInt.asIntN(64, v as bigint);
        return this.varint64((n << 1n) ^ (n >> 63n));
      }
      case 'fixed64':
      case 'sfixed64':
        return this.fixed(8, (b) => b.writeBigUInt64LE(BigInt.asUintN(64, v as bigint)));
      default:
        throw new WireError(`${s} is not written here`);
    }
  }

  /** A writer for a length-delimited part (a message, a map entry, a packed list), joined with join(). */
  fork(): Writer {
    return new Writer();
  }

  join(inner: Writer): void {
    inner.flush();
    this.uint32(inner.len);
    this.flush();
    for (const p of inner.parts) this.parts.push(p);
    this.len += inner.len;
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.parts, this.len);
  }
}
