/**
 * The part of the ZIP format (PKWARE APPNOTE 6.3) a PyTorch checkpoint uses: the end-of-central-
 * directory record (and its ZIP64 form, for archives past 4 GiB), the central directory, and each
 * entry's local header (PyTorch pads the local extra field so tensor data is 64-byte aligned, so
 * the data offset is read from the local header, not assumed). Entries are stored (method 0, as
 * torch.save writes them) or deflated (method 8, inflated with node:zlib). Every offset is checked
 * against the buffer; a bad archive is a MODEL_LOAD_FAILED.
 */
import { inflateRawSync } from 'node:zlib';
import { PlaitError } from '../../errors/index.js';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();

  constructor(
    private readonly bytes: Buffer,
    private readonly file: string,
  ) {
    this.readCentralDirectory();
  }

  private bad(why: string): PlaitError {
    return new PlaitError('MODEL_LOAD_FAILED', { message: `${this.file} is not a readable zip archive: ${why}`, file: this.file });
  }

  private u32(at: number): number {
    if (at < 0 || at + 4 > this.bytes.length) throw this.bad(`offset ${at} is past the end (truncated?)`);
    return this.bytes.readUInt32LE(at);
  }

  private u16(at: number): number {
    if (at < 0 || at + 2 > this.bytes.length) throw this.bad(`offset ${at} is past the end (truncated?)`);
    return this.bytes.readUInt16LE(at);
  }

  private u64(at: number): number {
    if (at < 0 || at + 8 > this.bytes.length) throw this.bad(`offset ${at} is past the end (truncated?)`);
    const v = this.bytes.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.bad('a ZIP64 size is out of range');
    return Number(v);
  }

  private readCentralDirectory(): void {
    const b = this.bytes;
    // The EOCD record is 22 bytes plus a comment of at most 65,535 bytes at the very end.
    let eocd = -1;
    for (let at = b.length - 22; at >= Math.max(0, b.length - 22 - 0xffff); at--) {
      if (b.readUInt32LE(at) === EOCD) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) throw this.bad('no end-of-central-directory record (truncated, or not a zip)');
    let count = this.u16(eocd + 10);
    let cdOffset = this.u32(eocd + 16);
    if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && this.u32(eocd - 20) === ZIP64_LOCATOR) {
      const z = this.u64(eocd - 20 + 8);
      if (this.u32(z) !== ZIP64_EOCD) throw this.bad('ZIP64 locator points to no ZIP64 record');
      count = this.u64(z + 32);
      cdOffset = this.u64(z + 48);
    }
    let at = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(at) !== CENTRAL) throw this.bad(`central directory entry ${i} has a bad signature`);
      const method = this.u16(at + 10);
      let compressedSize = this.u32(at + 20);
      let size = this.u32(at + 24);
      const nameLength = this.u16(at + 28);
      const extraLength = this.u16(at + 30);
      const commentLength = this.u16(at + 32);
      let localHeaderOffset = this.u32(at + 42);
      if (at + 46 + nameLength > b.length) throw this.bad('a central directory name runs past the end');
      const name = b.toString('utf8', at + 46, at + 46 + nameLength);
      // ZIP64 extended information (header id 1): the 8-byte values, in this order, for each 32-bit field that is 0xffffffff.
      let x = at + 46 + nameLength;
      const xEnd = x + extraLength;
      while (x + 4 <= xEnd) {
        const id = this.u16(x);
        const len = this.u16(x + 2);
        if (id === 1) {
          let p = x + 4;
          if (size === 0xffffffff) (size = this.u64(p)), (p += 8);
          if (compressedSize === 0xffffffff) (compressedSize = this.u64(p)), (p += 8);
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = this.u64(p);
        }
        x += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      at = xEnd + commentLength;
    }
  }

  /** The entry's bytes (a view for stored entries, a new buffer for deflated ones). */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (e === undefined) throw this.bad(`no entry ${name}`);
    const h = e.localHeaderOffset;
    if (this.u32(h) !== LOCAL) throw this.bad(`${name}: bad local header signature`);
    const start = h + 30 + this.u16(h + 26) + this.u16(h + 28);
    const end = start + e.compressedSize;
    if (end > this.bytes.length) throw this.bad(`${name} ends at byte ${end} but the file has ${this.bytes.length} (truncated?)`);
    const raw = this.bytes.subarray(start, end);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      try {
        return inflateRawSync(raw);
      } catch (cause) {
        throw new PlaitError('MODEL_LOAD_FAILED', { message: `${this.file}: ${name} does not inflate`, file: this.file }, { cause });
      }
    }
    throw new PlaitError('MODEL_UNSUPPORTED', { message: `${this.file}: ${name} uses zip compression method ${e.method}; only stored and deflated entries are read`, file: this.file });
  }
}
