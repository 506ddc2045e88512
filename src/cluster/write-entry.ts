/**
 * A cluster write and its bytes in the write log (issue 24). A write (adds/upserts, deletes by id,
 * a delete by metadata filter) is split by `shardOf` into one write per shard; each is serialised
 * (msgpack) and published to its shard's stream, in parts when it is larger than a NATS message.
 *
 * What an entry carries: the documents ENCODED (token ids and float32 token embeddings, passage
 * offsets, text, title, metadata), not their text. The writer encodes once; every replica then
 * compresses the same float32 rows with the same codebook, so replicas are bit-identical to each
 * other and to a single index given the same write (an encoder's last float bits can differ with
 * its thread count, so replicas encoding text could disagree on a near-tie centroid), and applying
 * needs no encoder: a replica's apply costs a compression and a commit, not a forward pass per
 * replica. The price is size: a passage of 180 tokens at 128 dimensions is 92 KB (the bundled
 * model's 512 dimensions: 4× that), so a write is split into parts under NATS's max_payload
 * (1 MiB by default) and reassembled by the applier (write-log.ts keeps the parts contiguous).
 *
 * Layout (msgpack map, version 1): `{ v: 1, add: [{ id, title, text, meta?, pas: Int32 LE bytes of
 * [start, end]×passages, emb: [{ n, tok: Int32 LE bytes, vec: Float32 LE bytes }] }], del: [ids],
 * where?: filter }`. Little-endian, as every plait index file.
 */
import { plural } from '../util/plural.js';
import { pack, unpack } from '../util/msgpack.js';
import { PlaitError, invalidArgument, checkObject, checkArray } from '../errors/index.js';
import type { EncodedDocument, UpdateRequest } from '../mutate/index-updater.js';
import type { MetadataFilter } from '../docstore/metadata-filter.js';
import { shardOf } from './shard-of.js';

/** Adds (upserts: an indexed docId is replaced), deletes by docId, and a delete by metadata filter. */
export interface ClusterWrite {
  add?: readonly EncodedDocument[];
  delete?: readonly string[];
  /** Every shard deletes the documents this filter matches (before the write's adds). */
  deleteWhere?: MetadataFilter;
}

const ENTRY_VERSION = 1;
/**
 * The version of a STAGED entry (a part of a write transaction, write-transaction.ts): the same
 * layout, another number, so that a replica of a version before transactions refuses (skips) it
 * instead of applying a part of a file that may never be committed.
 */
const STAGED_ENTRY_VERSION = 2;

interface WireEmbedding {
  n: number;
  tok: Uint8Array;
  vec: Uint8Array;
}
interface WireDocument {
  id: string;
  title: string;
  text: string;
  meta?: Record<string, unknown>;
  pas: Uint8Array;
  emb: WireEmbedding[];
}
interface WireWrite {
  v: number;
  add: WireDocument[];
  del: string[];
  where?: MetadataFilter;
}

/**
 * Checks what every replica would refuse, so that nothing is published that a replica cannot
 * apply: unique docIds among the adds, one embedding per passage, `dim` floats per token.
 * @throws PlaitError DUPLICATE_ID, INVALID_INPUT, DIMENSION_MISMATCH, INVALID_ARGUMENT.
 */
export function checkWrite(write: ClusterWrite, dim: number): void {
  checkObject('write', write, 'a ClusterWrite');
  const seen = new Set<string>();
  (write.add ?? []).forEach((a, i) => {
    if (seen.has(a.doc.docId)) throw new PlaitError('DUPLICATE_ID', { id: a.doc.docId, file: 'the documents written', line: i + 1 });
    seen.add(a.doc.docId);
    if (a.embeddings.length !== a.passages.length) throw new PlaitError('INVALID_INPUT', { message: `document "${a.doc.docId}" has ${plural(a.passages.length, 'passage')} but ${plural(a.embeddings.length, 'embedding')}` });
    for (const e of a.embeddings) {
      if (e.vectors.length !== e.length * dim || e.tokenIds.length !== e.length) throw new PlaitError('DIMENSION_MISMATCH', { expected: dim, received: e.length === 0 ? 0 : e.vectors.length / e.length });
    }
  });
  for (const id of write.delete ?? []) if (typeof id !== 'string') throw invalidArgument('delete', 'an array of docId strings', write.delete);
}

/** Whether the write changes nothing (no add, no delete, no filter). */
export function isEmptyWrite(w: ClusterWrite): boolean {
  return (w.add?.length ?? 0) === 0 && (w.delete?.length ?? 0) === 0 && w.deleteWhere === undefined;
}

/**
 * The write of each shard: adds and deletes by `shardOf(docId, shards)`, the filter on every shard.
 * Shards with nothing to do are absent.
 */
export function splitWrite(write: ClusterWrite, shards: number): Map<number, ClusterWrite> {
  checkObject('write', write, 'a ClusterWrite');
  const out = new Map<number, { add: EncodedDocument[]; delete: string[]; deleteWhere?: MetadataFilter }>();
  const of = (i: number) => {
    let w = out.get(i);
    if (w === undefined) out.set(i, (w = { add: [], delete: [] }));
    return w;
  };
  if (write.deleteWhere !== undefined) for (let i = 0; i < shards; i++) of(i).deleteWhere = write.deleteWhere;
  for (const id of write.delete ?? []) of(shardOf(id, shards)).delete.push(id);
  for (const a of write.add ?? []) of(shardOf(a.doc.docId, shards)).add.push(a);
  return out;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** A typed array copied out of (possibly unaligned) message bytes. */
function copyInto<T extends Int32Array | Float32Array>(bytes: Uint8Array, make: (n: number) => T): T {
  const out = make(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The write's bytes as a log entry stores them (`staged`: as a transaction's staged entry, write-transaction.ts). */
export function encodeWrite(w: ClusterWrite, staged = false): Uint8Array {
  checkObject('w', w, 'a ClusterWrite');
  const wire: WireWrite = {
    v: staged ? STAGED_ENTRY_VERSION : ENTRY_VERSION,
    add: (w.add ?? []).map((a) => ({
      id: a.doc.docId,
      title: a.doc.title,
      text: a.doc.text,
      ...(a.doc.metadata === undefined ? {} : { meta: a.doc.metadata }),
      pas: bytesOf(Int32Array.from(a.passages.flatMap((p) => [p.start, p.end]))),
      emb: a.embeddings.map((e) => ({ n: e.length, tok: bytesOf(e.tokenIds), vec: bytesOf(e.vectors) })),
    })),
    del: [...(w.delete ?? [])],
    ...(w.deleteWhere === undefined ? {} : { where: w.deleteWhere }),
  };
  return pack(wire);
}

/**
 * A write from its entry bytes (`staged`: a transaction's staged entry, read at its commit).
 * @throws PlaitError INVALID_INPUT when the bytes are not an entry of that kind (a staged entry read as a write, or the reverse).
 */
export function decodeWrite(bytes: Uint8Array, staged = false): ClusterWrite {
  const version = staged ? STAGED_ENTRY_VERSION : ENTRY_VERSION;
  let wire: WireWrite;
  try {
    wire = unpack(bytes) as WireWrite;
  } catch (e) {
    throw new PlaitError('INVALID_INPUT', { message: `a write-log entry is not msgpack: ${(e as Error).message}` }, { cause: e });
  }
  if (wire === null || typeof wire !== 'object' || wire.v !== version || !Array.isArray(wire.add) || !Array.isArray(wire.del)) {
    throw new PlaitError('INVALID_INPUT', { message: `a write-log entry is not a version-${version} plait write${staged ? ' (a staged part of a transaction)' : ''}` });
  }
  const add: EncodedDocument[] = wire.add.map((d) => {
    const pas = copyInto(d.pas, (n) => new Int32Array(n));
    const passages: { start: number; end: number }[] = [];
    for (let i = 0; i < pas.length; i += 2) passages.push({ start: pas[i]!, end: pas[i + 1]! });
    return {
      doc: { docId: d.id, title: d.title, text: d.text, metadata: d.meta },
      passages,
      embeddings: d.emb.map((e) => ({ length: e.n, tokenIds: copyInto(e.tok, (n) => new Int32Array(n)), vectors: copyInto(e.vec, (n) => new Float32Array(n)) })),
    };
  });
  return { add, delete: wire.del, ...(wire.where === undefined ? {} : { deleteWhere: wire.where }) };
}

/** `bytes` cut into parts of at most `maxPart` bytes (one part when it fits; never zero parts). */
export function splitParts(bytes: Uint8Array, maxPart: number): Uint8Array[] {
  if (!Number.isInteger(maxPart) || maxPart < 1) throw invalidArgument('maxPart', 'a positive integer', maxPart);
  const parts: Uint8Array[] = [];
  for (let o = 0; o < bytes.length || parts.length === 0; o += maxPart) parts.push(bytes.subarray(o, Math.min(bytes.length, o + maxPart)));
  return parts;
}

/**
 * Consecutive log writes folded into ONE update with the same final state as applying them in
 * order: for each docId the last operation wins (a write's deletes come before its adds, as in
 * updateIndex). A filter delete can only lead a batch (it must not see the batch's earlier adds):
 * `canFold` tells the applier where a batch must end.
 */
export function foldWrites(writes: readonly ClusterWrite[]): Omit<UpdateRequest, 'appliedLog'> {
  checkArray('writes', writes, 'an array of ClusterWrites');
  const last = new Map<string, EncodedDocument | null>();
  writes.forEach((w, i) => {
    if (i > 0 && w.deleteWhere !== undefined) throw new PlaitError('INTERNAL', { message: 'a filter delete can only lead a folded batch' });
    for (const id of w.delete ?? []) {
      last.delete(id);
      last.set(id, null);
    }
    for (const a of w.add ?? []) {
      last.delete(a.doc.docId);
      last.set(a.doc.docId, a);
    }
  });
  const add: EncodedDocument[] = [];
  const del: string[] = [];
  for (const [id, a] of last) {
    if (a === null) del.push(id);
    else add.push(a);
  }
  return { add, delete: del, ...(writes[0]?.deleteWhere === undefined ? {} : { deleteWhere: writes[0].deleteWhere }) };
}

/** Whether `next` may join a batch that already holds writes (a filter delete starts its own batch). */
export function canFold(next: ClusterWrite): boolean {
  return next.deleteWhere === undefined;
}
