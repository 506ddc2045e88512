/**
 * Writes PyTorch zip checkpoints the way torch.save (≥ 1.6, pickle protocol 2) does, for the
 * converter's tests: a stored (uncompressed) zip whose folder `archive/` holds `data.pkl`,
 * `data/<key>` (one storage per tensor, little-endian) and `byteorder`, with each entry's data
 * 64-byte aligned through a padding extra field as PyTorch's writer does. The pickle is written
 * opcode by opcode (CPython Lib/pickletools.py documents them): an OrderedDict built by REDUCE,
 * then SETITEMS of name → torch._utils._rebuild_tensor_v2((storage persistent id), offset, size,
 * stride, requires_grad, OrderedDict()).
 */
import { crc32 } from 'node:zlib';

export interface TorchTensorSpec {
  shape: number[];
  data: Float32Array;
  /** Store the transpose contiguously and describe this 2-d tensor as a strided view of it. */
  asTransposedView?: boolean;
}

class PickleWriter {
  private parts: Buffer[] = [];
  private memo = 0;

  raw(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    this.parts.push(Buffer.from([0x58]), len, b); // BINUNICODE
    return this.put();
  }

  global(module: string, name: string): this {
    this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'latin1')); // GLOBAL
    return this.put();
  }

  int(v: number): this {
    if (v < 256) return this.raw(0x4b, v); // BININT1
    if (v < 65536) return this.raw(0x4d, v & 0xff, v >> 8); // BININT2
    const b = Buffer.alloc(5);
    b[0] = 0x4a; // BININT
    b.writeInt32LE(v, 1);
    this.parts.push(b);
    return this;
  }

  tuple(values: number[]): this {
    this.raw(0x28); // MARK
    for (const v of values) this.int(v);
    return this.raw(0x74); // TUPLE
  }

  /** BINPUT n, as the pickler memoizes each object it writes. */
  put(): this {
    if (this.memo < 256) this.raw(0x71, this.memo++);
    else {
      const b = Buffer.alloc(5);
      b[0] = 0x72;
      b.writeUInt32LE(this.memo++, 1);
      this.parts.push(b);
    }
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The data.pkl bytes of a state dict whose tensor i lives in storage key String(i). */
export function stateDictPickle(tensors: [string, TorchTensorSpec][]): Buffer {
  const p = new PickleWriter();
  p.raw(0x80, 2); // PROTO 2
  p.global('collections', 'OrderedDict').raw(0x29, 0x52).put(); // ) R → OrderedDict()
  p.raw(0x28); // MARK
  tensors.forEach(([name, t], i) => {
    const numel = t.data.length;
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.raw(0x28); // MARK (args)
    p.raw(0x28).str('storage').global('torch', 'FloatStorage').str(String(i)).str('cpu').int(numel).raw(0x74).put(); // pid tuple
    p.raw(0x51).put(); // BINPERSID
    p.int(0); // storage offset
    p.tuple(t.shape);
    const transposed = t.asTransposedView === true && t.shape.length === 2;
    p.tuple(transposed ? [1, t.shape[0]!] : t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1)));
    p.raw(0x89); // NEWFALSE (requires_grad)
    p.global('collections', 'OrderedDict').raw(0x29, 0x52).put(); // backward hooks
    p.raw(0x74).put(); // TUPLE
    p.raw(0x52).put(); // REDUCE
  });
  p.raw(0x75); // SETITEMS
  p.raw(0x2e); // STOP
  return p.finish();
}

/** The storage bytes of a tensor (its transpose for a transposed view). */
function storageBytes(t: TorchTensorSpec): Buffer {
  let data = t.data;
  if (t.asTransposedView === true && t.shape.length === 2) {
    const [r, c] = t.shape as [number, number];
    data = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = t.data[i * c + j]!;
  }
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A stored zip of the given entries, data 64-byte aligned (PyTorch's layout). */
export function storedZip(entries: [string, Buffer][]): Buffer {
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const headerEnd = offset + 30 + nameBytes.length + 4;
    const pad = (64 - (headerEnd % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4246, 0); // "FB", PyTorch's padding field
    extra.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(0, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    out.push(local, nameBytes, extra, data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(nameBytes.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, nameBytes);
    offset += 30 + nameBytes.length + extra.length + data.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...out, cd, eocd]);
}

/** The bytes of a `pytorch_model.bin` holding these tensors. */
export function torchCheckpoint(tensors: [string, TorchTensorSpec][], pickle: Buffer = stateDictPickle(tensors)): Buffer {
  const entries: [string, Buffer][] = [['archive/data.pkl', pickle]];
  tensors.forEach(([, t], i) => entries.push([`archive/data/${i}`, storageBytes(t)]));
  entries.push(['archive/byteorder', Buffer.from('little')], ['archive/version', Buffer.from('3\n')]);
  return storedZip(entries);
}

/** A checkpoint whose pickle calls os.system("...") — what a malicious pytorch_model.bin does. */
export function maliciousTorchCheckpoint(command: string): Buffer {
  const p = new PickleWriter();
  p.raw(0x80, 2).global('os', 'system').raw(0x28).str(command).raw(0x74, 0x52, 0x2e); // os.system((command,)) STOP
  return storedZip([['archive/data.pkl', p.finish()], ['archive/byteorder', Buffer.from('little')]]);
}
