// A small protobuf wire-format decoder for the few ONNX messages the conformance runner needs:
// ModelProto → GraphProto → NodeProto / AttributeProto / TensorProto / ValueInfoProto.
// Field numbers are those of onnx/onnx.proto (ONNX 1.12); unknown fields are skipped, so newer
// files decode as long as these fields keep their numbers (protobuf guarantees that).

/** ONNX TensorProto.DataType values. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13 } as const;
export const DT_NAME: Record<number, string> = Object.fromEntries(Object.entries(DT).map(([k, v]) => [v, k.toLowerCase()]));

/** A decoded tensor: FLOAT as Float32Array; every numeric non-float type widened to Float64Array. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  data: Float32Array | Float64Array;
}

export interface OnnxAttribute {
  name: string;
  type: number; // AttributeProto.AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 5 GRAPH, 6 FLOATS, 7 INTS, 8 STRINGS, ...
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats: number[];
  ints: number[];
}

export interface OnnxNode {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  /** Tensor element type (DT), or -1 when the value is not a plain tensor (sequence, map, optional). */
  elemType: number;
  /** Dimensions; null for a symbolic or unknown one; shape null when not given. */
  shape: (number | null)[] | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  /** domain ('' for ai.onnx) → opset version */
  opsets: Map<string, number>;
  graph: OnnxGraph;
}

const utf8 = new TextDecoder();

/** Iterates the fields of one message: calls `on(field, wireType, reader)`; the reader sits on the value. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  /** A varint as a two's-complement int64 (exact up to 2^53; beyond that, nearest double). */
  varint(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if (!(b & 0x80)) break;
      if (shift >= 70) throw new Error('protobuf: varint too long');
    }
    return (hi | 0) * 4294967296 + (lo >>> 0);
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error('protobuf: truncated length-delimited field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  string(): string {
    return utf8.decode(this.bytes());
  }
  float(): number {
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  double(): number {
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
  /** Calls `on` for every field; `on` must consume the value or return false to have it skipped. */
  fields(on: (field: number, wire: number) => boolean | void): void {
    while (this.pos < this.end) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      const at = this.pos;
      if (on(field, wire) === false) {
        this.pos = at;
        this.skip(wire);
      }
    }
    if (this.pos !== this.end) throw new Error('protobuf: message overran its length');
  }
  sub(): Reader {
    const b = this.bytes();
    return new Reader(b);
  }
  /** A repeated scalar, packed (wire 2) or not. */
  repeated(wire: number, one: (r: Reader) => number, out: number[]): void {
    if (wire === 2) {
      const r = this.sub();
      while (r.pos < r.end) out.push(one(r));
    } else out.push(one(this));
  }
}

const vint = (r: Reader) => r.varint();
const f32 = (r: Reader) => r.float();
const f64 = (r: Reader) => r.double();

export function decodeTensor(buf: Uint8Array): OnnxTensor {
  return tensorFrom(new Reader(buf));
}

function tensorFrom(r: Reader): OnnxTensor {
  const dims: number[] = [];
  const floats: number[] = [];
  const ints: number[] = [];
  const doubles: number[] = [];
  let raw: Uint8Array | null = null;
  let dataType = 0;
  let name = '';
  r.fields((f, w) => {
    if (f === 1) r.repeated(w, vint, dims);
    else if (f === 2) dataType = r.varint();
    else if (f === 4) r.repeated(w, f32, floats);
    else if (f === 5 || f === 7 || f === 11) r.repeated(w, vint, ints); // int32_data, int64_data, uint64_data
    else if (f === 8) name = r.string();
    else if (f === 9) raw = r.bytes();
    else if (f === 10) r.repeated(w, f64, doubles);
    else if (f === 13 || f === 14) throw new Error('TensorProto: external data is not supported');
    else return false;
  });
  const count = dims.reduce((a, b) => a * b, 1);
  let data: Float32Array | Float64Array;
  if (raw) data = fromRaw(raw, dataType, count);
  else if (dataType === DT.FLOAT) data = Float32Array.from(floats);
  else if (dataType === DT.DOUBLE) data = Float64Array.from(doubles);
  else if (dataType === DT.FLOAT16) data = Float64Array.from(ints, halfToFloat);
  else if (dataType === DT.STRING) throw new Error('TensorProto: string tensors are not supported');
  else data = Float64Array.from(ints, (v) => normInt(v, dataType));
  if (data.length !== count) throw new Error(`TensorProto ${name}: ${data.length} values for dims [${dims}]`);
  return { name, dims, dataType, data };
}

/** Reinterprets a varint-decoded value for narrower signed/unsigned types (int32_data holds them all). */
function normInt(v: number, dt: number): number {
  switch (dt) {
    case DT.INT8:
      return (v << 24) >> 24;
    case DT.INT16:
      return (v << 16) >> 16;
    case DT.INT32:
      return v | 0;
    case DT.UINT8:
      return v & 0xff;
    case DT.UINT16:
      return v & 0xffff;
    case DT.UINT32:
      return v >>> 0;
    default:
      return v;
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function fromRaw(raw: Uint8Array, dt: number, count: number): Float32Array | Float64Array {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = dt === DT.FLOAT ? new Float32Array(count) : new Float64Array(count);
  const size: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 };
  const sz = size[dt];
  if (!sz) throw new Error(`TensorProto: raw data of type ${DT_NAME[dt] ?? dt} is not supported`);
  if (raw.byteLength !== sz * count) throw new Error(`TensorProto: raw data has ${raw.byteLength} bytes for ${count} × ${sz}`);
  for (let i = 0; i < count; i++) {
    const o = i * sz;
    // prettier-ignore
    switch (dt) {
      case DT.FLOAT: out[i] = dv.getFloat32(o, true); break;
      case DT.DOUBLE: out[i] = dv.getFloat64(o, true); break;
      case DT.UINT8: case DT.BOOL: out[i] = dv.getUint8(o); break;
      case DT.INT8: out[i] = dv.getInt8(o); break;
      case DT.UINT16: out[i] = dv.getUint16(o, true); break;
      case DT.INT16: out[i] = dv.getInt16(o, true); break;
      case DT.FLOAT16: out[i] = halfToFloat(dv.getUint16(o, true)); break;
      case DT.INT32: out[i] = dv.getInt32(o, true); break;
      case DT.UINT32: out[i] = dv.getUint32(o, true); break;
      case DT.INT64: out[i] = Number(dv.getBigInt64(o, true)); break;
      case DT.UINT64: out[i] = Number(dv.getBigUint64(o, true)); break;
    }
  }
  return out;
}

function attributeFrom(r: Reader): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0, floats: [], ints: [] };
  r.fields((f, w) => {
    if (f === 1) a.name = r.string();
    else if (f === 20) a.type = r.varint();
    else if (f === 2) a.f = r.float();
    else if (f === 3) a.i = r.varint();
    else if (f === 4) a.s = r.string();
    else if (f === 5) a.t = tensorFrom(r.sub());
    else if (f === 7) r.repeated(w, f32, a.floats);
    else if (f === 8) r.repeated(w, vint, a.ints);
    else return false;
  });
  return a;
}

function nodeFrom(r: Reader): OnnxNode {
  const n: OnnxNode = { opType: '', domain: '', name: '', inputs: [], outputs: [], attrs: new Map() };
  r.fields((f) => {
    if (f === 1) n.inputs.push(r.string());
    else if (f === 2) n.outputs.push(r.string());
    else if (f === 3) n.name = r.string();
    else if (f === 4) n.opType = r.string();
    else if (f === 7) n.domain = r.string();
    else if (f === 5) {
      const a = attributeFrom(r.sub());
      n.attrs.set(a.name, a);
    } else return false;
  });
  return n;
}

/** ValueInfoProto: the name and, for a plain tensor, its element type and shape. */
function valueInfo(r: Reader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: -1, shape: null };
  r.fields((f) => {
    if (f === 1) v.name = r.string();
    else if (f === 2) {
      const tp = r.sub();
      tp.fields((tf) => {
        if (tf !== 1) return false; // sequence/map/optional types leave elemType = -1
        const tt = tp.sub();
        tt.fields((ef) => {
          if (ef === 1) v.elemType = tt.varint();
          else if (ef === 2) {
            v.shape = [];
            const sh = tt.sub();
            sh.fields((df) => {
              if (df !== 1) return false;
              const dim = sh.sub();
              let d: number | null = null;
              dim.fields((xf) => {
                if (xf === 1) d = dim.varint();
                else return false;
              });
              v.shape!.push(d);
            });
          } else return false;
        });
      });
    } else return false;
  });
  return v;
}

function graphFrom(r: Reader): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] };
  r.fields((f) => {
    if (f === 1) g.nodes.push(nodeFrom(r.sub()));
    else if (f === 2) g.name = r.string();
    else if (f === 5) g.initializers.push(tensorFrom(r.sub()));
    else if (f === 11) g.inputs.push(valueInfo(r.sub()));
    else if (f === 12) g.outputs.push(valueInfo(r.sub()));
    else return false;
  });
  return g;
}

export function decodeModel(buf: Uint8Array): OnnxModel {
  const r = new Reader(buf);
  const m: OnnxModel = { irVersion: 0, opsets: new Map(), graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [] } };
  r.fields((f) => {
    if (f === 1) m.irVersion = r.varint();
    else if (f === 7) m.graph = graphFrom(r.sub());
    else if (f === 8) {
      const o = r.sub();
      let domain = '';
      let version = 0;
      o.fields((of) => {
        if (of === 1) domain = o.string();
        else if (of === 2) version = o.varint();
        else return false;
      });
      m.opsets.set(domain === 'ai.onnx' ? '' : domain, version);
    } else return false;
  });
  return m;
}
