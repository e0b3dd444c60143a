// Zip archives as .keras files use them: read with every size and offset checked against the
// file and every member's CRC-32 verified (as Python's zipfile does), and written uncompressed
// with the headers Python's zipfile gives a Keras 3 `model.save('x.keras')`.
//
// fflate does the (de)compression, but its unzipSync trusts the archive: a corrupt entry count
// or size sends it looping over garbage or allocating gigabytes, and it checks no CRC. So the
// directory walk is ours, and a damaged archive fails as one line naming the member at fault.

import { inflateSync, zipSync, type ZipOptions } from 'fflate';
import { LanternaError } from '../../engine/errors.ts';
import { oneLine } from './file_errors.ts';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as zip and PNG use it). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipRead {
  /** Every member's name, in central-directory order. */
  names: string[];
  /** The members asked for that the archive holds, checked and decompressed. */
  files: Record<string, Uint8Array>;
}

const EOCD = 0x06054b50, EOCD64 = 0x06064b50, LOCATOR64 = 0x07064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
const MAX_MEMBER_BYTES = 2 ** 31 - 1;
/** Deflate never expands more than 1032:1. */
const MAX_DEFLATE_RATIO = 1032;

/** Reads the members named in `wanted` from the zip archive `bytes`; errors start with `where`. */
export function readZip(bytes: Uint8Array, where: string, wanted: ReadonlySet<string>): ZipRead {
  const fail = (msg: string): never => {
    throw new LanternaError(oneLine(`${where}: ${msg}`));
  };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  const u16 = (o: number) => v.getUint16(o, true);
  const u32 = (o: number) => v.getUint32(o, true);
  const u64 = (o: number) => {
    const n = v.getBigUint64(o, true);
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(n);
  };

  let eocd = -1;
  for (let o = len - 22; o >= 0 && o >= len - 22 - 0xffff; o--) {
    if (u32(o) === EOCD) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) fail(`no end-of-central-directory record (not a zip archive, or a truncated one; ${len} bytes)`);
  let count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
  let cdLimit = eocd;
  if (eocd >= 20 && u32(eocd - 20) === LOCATOR64) {
    const at = u64(eocd - 12);
    if (!(at + 56 <= eocd) || u32(at) !== EOCD64) fail('the zip64 end-of-central-directory record is damaged');
    count = u64(at + 32);
    cdSize = u64(at + 40);
    cdOffset = u64(at + 48);
    cdLimit = at;
  }
  if (!(cdOffset + cdSize <= cdLimit)) fail(`the central directory (${cdSize} bytes at ${cdOffset}) does not fit in the ${len}-byte archive: truncated or corrupt`);
  if (count * 46 > cdSize) fail(`the archive claims ${count} members, more than its ${cdSize}-byte central directory can hold: corrupt`);

  const names: string[] = [];
  const members = new Map<string, { method: number; flags: number; crc: number; csize: number; usize: number; local: number }>();
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  const latin1 = new TextDecoder('latin1');
  let p = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || u32(p) !== CENTRAL) fail(`central directory entry ${i + 1} of ${count} is damaged`);
    const flags = u16(p + 8), method = u16(p + 10), crc = u32(p + 16);
    let csize = u32(p + 20), usize = u32(p + 24), local = u32(p + 42);
    const nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > cdEnd) fail(`central directory entry ${i + 1} of ${count} runs past the directory's end`);
    const name = oneLine((flags & 0x800 ? utf8 : latin1).decode(bytes.subarray(p + 46, p + 46 + nameLen)));
    // Zip64: the 0xffffffff fields follow in the extra field 0x0001, in this order.
    if (usize === 0xffffffff || csize === 0xffffffff || local === 0xffffffff) {
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd && u16(e) !== 1) e += 4 + u16(e + 2);
      if (e + 4 > eEnd) fail(`member '${name}': sizes marked zip64 but no zip64 extra field`);
      let q = e + 4;
      const take = () => {
        if (q + 8 > eEnd) fail(`member '${name}': its zip64 extra field is too short`);
        const x = u64(q);
        q += 8;
        return x;
      };
      if (usize === 0xffffffff) usize = take();
      if (csize === 0xffffffff) csize = take();
      if (local === 0xffffffff) local = take();
    }
    names.push(name);
    members.set(name, { method, flags, crc, csize, usize, local });
    p = next;
  }

  const files: Record<string, Uint8Array> = {};
  for (const name of wanted) {
    const m = members.get(name);
    if (!m) continue;
    const at = `member '${name}'`;
    if (m.flags & 1) fail(`${at} is encrypted`);
    if (!(m.local + 30 <= cdOffset) || u32(m.local) !== LOCAL) fail(`${at}: its local header (at ${m.local}) is missing or damaged`);
    const start = m.local + 30 + u16(m.local + 26) + u16(m.local + 28);
    if (!(start + m.csize <= cdOffset)) fail(`${at}: its ${m.csize} bytes at ${start} run past the member data: truncated or corrupt`);
    const raw = bytes.subarray(start, start + m.csize);
    let data: Uint8Array;
    if (m.method === 0) {
      if (m.csize !== m.usize) fail(`${at} is stored uncompressed but its sizes differ (${m.csize} and ${m.usize} bytes)`);
      data = raw;
    } else if (m.method === 8) {
      if (m.usize > MAX_MEMBER_BYTES || m.usize > m.csize * MAX_DEFLATE_RATIO + 64) fail(`${at} claims ${m.usize} bytes from ${m.csize} compressed: corrupt`);
      try {
        data = inflateSync(raw, { out: new Uint8Array(m.usize) });
      } catch (e) {
        return fail(`${at} does not inflate (corrupt deflate data): ${(e as Error).message}`);
      }
      if (data.length !== m.usize) fail(`${at} inflates to ${data.length} bytes, the directory says ${m.usize}: corrupt`);
    } else return fail(`${at} uses compression method ${m.method}; only stored (0) and deflate (8) are supported`);
    const crc = crc32(data);
    if (crc !== m.crc) fail(`${at} fails its CRC-32 check (0x${crc.toString(16).padStart(8, '0')}, the directory says 0x${m.crc.toString(16).padStart(8, '0')}): the archive is corrupt`);
    files[name] = data;
  }
  return { names, files };
}

export interface ZipMember {
  name: string;
  data: Uint8Array;
  /** Its time stamp (local time, as zip stores it). */
  mtime: Date;
}

/**
 * An uncompressed zip archive as Python's zipfile writes one on Linux (ZIP_STORED, "made by"
 * Unix, version 2.0, external attributes 0o600 << 16, no data descriptors, no extra fields), the
 * members in the order given.
 */
export function zipStored(members: ZipMember[]): Uint8Array {
  const input: Record<string, [Uint8Array, ZipOptions & { os: number; attrs: number; mtime: Date }]> = {};
  for (const m of members) {
    if (m.name in input) throw new Error(`zipStored: member '${m.name}' given twice`);
    // Python switches to zip64 headers above this; fflate writes none.
    if (m.data.length * 1.05 > 2 ** 31 - 1) throw new Error(`zipStored: member '${m.name}' (${m.data.length} bytes) needs zip64, which this writer does not produce`);
    input[m.name] = [m.data, { level: 0, os: 3, attrs: 0o600 << 16, mtime: m.mtime }];
  }
  return zipSync(input);
}
