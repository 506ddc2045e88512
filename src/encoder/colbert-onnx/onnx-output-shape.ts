/**
 * Reads the declared shape of an ONNX graph's first output without loading the model: walks the
 * protobuf (ModelProto.graph = 7 → GraphProto.output = 12 → ValueInfoProto.type = 2 →
 * TypeProto.tensor_type = 1 → shape = 2 → dim = 1 → dim_value = 1) with positional reads, skipping
 * the weights. The main thread learns the embedding width this way without a 400 MB session.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Sizes are symbolic (e.g. "batch") or fixed; null marks a symbolic dimension. */
export type DeclaredShape = (number | null)[];

/** Positional reads of a protobuf file (onnx-embedding-rows.ts walks the graph's nodes with it too). */
export class FileCursor {
  private readonly buf = Buffer.alloc(16);
  constructor(private readonly fd: number) {}

  /** Bytes [from, to) as UTF-8 (a name: a few dozen bytes). */
  text(from: number, to: number): string {
    const b = Buffer.alloc(to - from);
    readSync(this.fd, b, 0, b.length, from);
    return b.toString('utf8');
  }

  varint(pos: number): { value: number; next: number } {
    const n = readSync(this.fd, this.buf, 0, 10, pos);
    let value = 0;
    let scale = 1;
    for (let i = 0; i < n; i++) {
      const b = this.buf[i]!;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
    }
    throw new Error(`truncated varint at byte ${pos}`);
  }
}

/** Iterates the fields in [start, end): calls visit(field, wireType, valueStart, valueEnd). */
export function walk(c: FileCursor, start: number, end: number, visit: (field: number, wire: number, from: number, to: number) => boolean): void {
  let pos = start;
  while (pos < end) {
    const tag = c.varint(pos);
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    let from = tag.next;
    let to: number;
    if (wire === 0) to = c.varint(from).next;
    else if (wire === 1) to = from + 8;
    else if (wire === 5) to = from + 4;
    else if (wire === 2) {
      const len = c.varint(from);
      from = len.next;
      to = from + len.value;
    } else throw new Error(`unsupported wire type ${wire} at byte ${pos}`);
    if (!visit(field, wire, from, to)) return;
    pos = to;
  }
}

export function firstMessage(c: FileCursor, start: number, end: number, field: number): [number, number] | null {
  let found: [number, number] | null = null;
  walk(c, start, end, (f, wire, from, to) => {
    if (f === field && wire === 2) {
      found = [from, to];
      return false;
    }
    return true;
  });
  return found;
}

/** The first graph output's declared shape, or null when the file does not declare one. */
export function readOutputShape(file: string): DeclaredShape | null {
  const fd = openSync(file, 'r');
  try {
    const c = new FileCursor(fd);
    const graph = firstMessage(c, 0, fstatSync(fd).size, 7);
    if (graph === null) return null;
    const output = firstMessage(c, graph[0], graph[1], 12);
    if (output === null) return null;
    const type = firstMessage(c, output[0], output[1], 2);
    const tensorType = type && firstMessage(c, type[0], type[1], 1);
    const shape = tensorType && firstMessage(c, tensorType[0], tensorType[1], 2);
    if (shape === null || shape === undefined) return null;
    const dims: DeclaredShape = [];
    walk(c, shape[0], shape[1], (f, wire, from, to) => {
      if (f !== 1 || wire !== 2) return true;
      let size: number | null = null;
      walk(c, from, to, (df, dwire, dfrom) => {
        if (df === 1 && dwire === 0) size = c.varint(dfrom).value;
        return true;
      });
      dims.push(size);
      return true;
    });
    return dims;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
