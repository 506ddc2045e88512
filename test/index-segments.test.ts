/**
 * Index format 2 (issue 9): segment files, memory mapping, streaming IVF, integrity on open and in
 * `plait info` (issue 8 item 7), exhaustive top-k in workers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { loadIndexData, readManifest, verifyIndex } from '../src/format/index-reader.js';
import { INDEX_FILES, segmentFileName } from '../src/format/manifest.js';
import { IndexWriter, buildIvf } from '../src/indexer/index-writer.js';
import { ResidualCodec } from '../src/codec/residual-codec.js';
import { nativeKernels, typescriptKernels } from '../src/kernels/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { Random } from '../src/util/random.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { sourceOf, syntheticModel, syntheticPassages } from './helpers/synthetic-index.js';

const DIM = 32;
const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
let dir: string;
let single: string;
let multi: string;
let queries: TokenEmbeddings[];

async function build(path: string, passages: TokenEmbeddings[], segmentBytes?: number): Promise<void> {
  await buildIndexFromEmbeddings(sourceOf(passages, DIM), {
    index: path,
    model: syntheticModel(DIM),
    modelSpec: { family: 'colbert-onnx', dir: '/nonexistent' },
    docId: (pid) => `d${pid}`,
    segmentBytes,
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-segments-'));
  const data = syntheticPassages(600, DIM, 21, 256, 0.2);
  queries = Array.from({ length: 16 }, () => data.gen.passage(32));
  single = join(dir, 'single');
  multi = join(dir, 'multi');
  await build(single, data.passages);
  // 8 bytes a token at 32-d 2-bit: 2 KiB segments hold ~250 tokens, about 10 passages each.
  await build(multi, data.passages, 2048);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (p: string): Buffer => readFileSync(p);
const concat = (path: string, role: 'codes' | 'residuals', n: number): Buffer => Buffer.concat(Array.from({ length: n }, (_, i) => bytes(join(path, segmentFileName(role, i)))));

test('a tiny segment size gives many passage-aligned segments holding the same bytes', () => {
  const a = readManifest(single);
  const b = readManifest(multi);
  assert.equal(a.formatVersion, 2);
  assert.equal(a.segments.length, 1);
  assert.ok(b.segments.length > 20, `${b.segments.length} segments`);
  let pid = 0;
  for (const s of b.segments) {
    assert.equal(s.firstPid, pid);
    assert.ok(s.passages >= 1);
    // A segment passes the limit only when its single passage alone does.
    assert.ok(s.residuals.bytes <= 2048 || s.passages === 1, `segment of ${s.residuals.bytes} bytes`);
    pid += s.passages;
  }
  assert.equal(pid, b.counts.passages);
  assert.deepEqual(concat(multi, 'codes', b.segments.length), concat(single, 'codes', 1));
  assert.deepEqual(concat(multi, 'residuals', b.segments.length), concat(single, 'residuals', 1));
  for (const f of [INDEX_FILES.ivf, INDEX_FILES.ivfOffsets, INDEX_FILES.doclens, INDEX_FILES.centroids]) assert.deepEqual(bytes(join(multi, f)), bytes(join(single, f)), f);
});

async function results(index: PlaitIndex): Promise<unknown[]> {
  const out: unknown[] = [];
  const texts = queries.map(() => '');
  for (const o of [{ topK: 10 }, { topK: 100 }, { topK: 10, exhaustive: true }, { topK: 40, exhaustive: true }]) {
    out.push((await index.searchEncodedBatch(texts, queries, { mode: 'late', ...o })).map((r) => r.hits));
  }
  return out;
}

test('search over the multi-segment index is identical to the single-segment one (calling thread, workers, mapped and read)', async () => {
  // Native and TypeScript kernels round differently in the last bits, so each is compared with itself.
  for (const kernels of [undefined, typescriptKernels]) {
    const label = kernels === undefined ? 'default kernels' : 'TypeScript kernels (segments read, not mapped)';
    const base = await openIndex(single, { kernels });
    const want = await results(base);
    await base.close();
    // Scoring workers load their own kernels (getKernels()), so the worker variants run with the default kernels only.
    const variants = [
      ['multi', multi, 0],
      ['multi, 2 workers', multi, 2],
      ['single, 2 workers (exhaustive top-k merged from workers)', single, 2],
    ] as const;
    for (const [name, path, workers] of kernels === undefined ? variants : variants.slice(0, 1)) {
      const idx = await openIndex(path, { kernels, workers });
      try {
        assert.deepEqual(await results(idx), want, `${name}, ${label}`);
      } finally {
        await idx.close();
      }
    }
  }
});

test('with the native addon, arrays are memory-mapped (not copied); the TypeScript path reads them into shared memory', () => {
  const native = nativeKernels();
  const read = loadIndexData(multi, typescriptKernels);
  assert.equal(read.mapped, false);
  assert.ok(read.segments[0]!.residuals.buffer instanceof SharedArrayBuffer);
  if (native === null || native.mapFile === undefined) {
    assert.ok(process.env.CI !== 'true', 'CI builds the native addon');
    return;
  }
  const mapped = loadIndexData(multi, native);
  assert.equal(mapped.mapped, true);
  assert.ok(!(mapped.segments[0]!.residuals.buffer instanceof SharedArrayBuffer));
  assert.deepEqual(Buffer.from(mapped.segments[3]!.residuals), Buffer.from(read.segments[3]!.residuals));
  assert.deepEqual(Array.from(mapped.ivfOffsets), Array.from(read.ivfOffsets));
});

test('the IVF built in bounded centroid ranges from the segments equals the in-memory oracle', () => {
  const rng = new Random(5);
  const k = 37;
  const dim = 8;
  const codec = new ResidualCodec(dim, 2, new Float32Array(k * dim), Float32Array.of(-0.1, 0, 0.1), Float32Array.of(-0.2, -0.05, 0.05, 0.2), typescriptKernels);
  const d = mkdtempSync(join(dir, 'ivf-'));
  const writer = new IndexWriter(d, codec, { segmentBytes: 40, ivfBlockEntries: 5 });
  const allCodes: number[] = [];
  const allLens: number[] = [];
  for (let chunk = 0; chunk < 6; chunk++) {
    const lens = Int32Array.from({ length: 7 }, () => rng.int(9)); // empty passages included
    const n = lens.reduce((a, b) => a + b, 0);
    const codes = Int32Array.from({ length: n }, () => rng.int(k));
    writer.appendChunk(codes, new Uint8Array(n * codec.bytesPerToken), lens);
    allCodes.push(...codes);
    allLens.push(...lens);
  }
  writer.finishArrays();
  const oracle = buildIvf(Int32Array.from(allCodes), Int32Array.from(allLens), k);
  const ivf = new Int32Array(new Uint8Array(readFileSync(join(d, INDEX_FILES.ivf))).buffer);
  const offsets = new BigInt64Array(new Uint8Array(readFileSync(join(d, INDEX_FILES.ivfOffsets))).buffer);
  assert.deepEqual(Array.from(ivf), Array.from(oracle.ivf));
  assert.deepEqual(Array.from(offsets, Number), Array.from(oracle.offsets));
  assert.ok(readdirSync(d).filter((f) => f.startsWith('codes.')).length > 3);
});

function copy(name: string, from = single): string {
  const p = join(dir, name);
  cpSync(from, p, { recursive: true });
  return p;
}

test('a truncated or flipped docs.sqlite is INDEX_CORRUPT (checked by size and CRC-32 on open), not DOCSTORE_FAILED', async () => {
  const t = copy('trunc-docs');
  const f = join(t, INDEX_FILES.docstore);
  truncateSync(f, statSync(f).size - 4096);
  await assert.rejects(openIndex(t), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /docs\.sqlite/.test(e.message));
  const x = copy('flip-docs');
  const g = join(x, INDEX_FILES.docstore);
  const b = readFileSync(g);
  b[Math.floor(b.length / 2)] = b[Math.floor(b.length / 2)]! ^ 0x40;
  writeFileSync(g, b);
  await assert.rejects(openIndex(x), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /docs\.sqlite.*checksum/.test(e.message));
});

test('every listed segment is checked: a missing one fails; verify "sizes" skips CRCs, "full" catches a flipped byte', async () => {
  const m = copy('missing-seg', multi);
  rmSync(join(m, segmentFileName('residuals', 7)));
  await assert.rejects(openIndex(m), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /residuals\.0007\.u8/.test(e.message));
  assert.throws(() => verifyIndex(m), (e) => isPlaitError(e, 'INDEX_CORRUPT'));
  const f = copy('flip-seg', multi);
  const file = join(f, segmentFileName('codes', 2));
  const b = readFileSync(file);
  b[1] = b[1]! ^ 0x01;
  writeFileSync(file, b);
  assert.equal(loadIndexData(f, typescriptKernels, { verify: 'sizes' }).verified, 'sizes');
  assert.equal(verifyIndex(f, { verify: 'sizes' }).verified, 'sizes');
  assert.throws(() => loadIndexData(f, typescriptKernels, { verify: 'full' }), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /codes\.0002\.i32.*checksum/.test(e.message));
  assert.throws(() => verifyIndex(f, { verify: 'full' }), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /checksum/.test(e.message));
  // Small indexes are verified in full on every open ('auto').
  await assert.rejects(openIndex(f), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /checksum/.test(e.message));
});

test('a format-1 index is refused with INDEX_VERSION telling to rebuild', async () => {
  const p = copy('v1');
  const m = JSON.parse(readFileSync(join(p, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  m.formatVersion = 1;
  delete m.segments;
  writeFileSync(join(p, 'manifest.json'), JSON.stringify(m));
  await assert.rejects(openIndex(p), (e) => isPlaitError(e, 'INDEX_VERSION') && /version 1.*rebuild/.test(e.message));
});

test('`plait info` verifies before reporting: figures for a good index, INDEX_CORRUPT and no figures for a truncated one', () => {
  const ok = spawnSync(process.execPath, [BIN, 'info', multi, '--json'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const info = JSON.parse(ok.stdout) as { files: Record<string, number>; bytesPerToken: number; manifest: { counts: { tokens: number } } };
  assert.equal(info.files[segmentFileName('residuals', 3)], statSync(join(multi, segmentFileName('residuals', 3))).size);
  // 32-d 2-bit: 8 bytes of residual and 4 of code per token.
  assert.equal(info.bytesPerToken, 12);
  const t = copy('info-trunc', multi);
  truncateSync(join(t, segmentFileName('codes', 1)), 12);
  const bad = spawnSync(process.execPath, [BIN, 'info', t], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /corrupt.*codes\.0001\.i32/i);
});
