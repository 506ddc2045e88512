/**
 * One copy of each helper and every default in the defaults module (issue 8, item 18).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_DEFAULTS, ENCODER_DEFAULTS, EVAL_DEFAULTS, SEARCH_DEFAULTS } from '../src/config/defaults.js';
import { mulberry32, mulberry32Uint32 } from '../src/util/random.js';
import { writeFileAtomic } from '../src/util/write-file-atomic.js';
import { checkNbits as codecCheckNbits, SUPPORTED_NBITS as CODEC_NBITS } from '../src/codec/residual-codec.js';
import { checkNbits, SUPPORTED_NBITS } from '../src/kernels/validate.js';
import { resolveEncoderOptions } from '../src/encoder/create-encoder.js';
import { isPlaitError } from '../src/errors/index.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { openIndex } from '../src/search/plait-index.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));

test('mulberry32: one generator, its uniform form is the uint32 form / 2^32', () => {
  const u = mulberry32Uint32(12345);
  const f = mulberry32(12345);
  for (let i = 0; i < 100; i++) assert.equal(f(), u() / 4294967296);
  // First outputs for seed 1, from an independent transcription of the reference C code (Python, 32-bit masks).
  const one = mulberry32Uint32(1);
  assert.deepEqual([one(), one()], [2693262067, 11749833]);
});

test('one set of residual widths for kernels, codec and index', async () => {
  assert.equal(codecCheckNbits, checkNbits);
  assert.equal(CODEC_NBITS, SUPPORTED_NBITS);
  assert.deepEqual([...SUPPORTED_NBITS], [1, 2, 4, 8]);
  assert.throws(() => checkNbits(3), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => checkNbits(2, 6), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.ok(SUPPORTED_NBITS.includes(BUILD_DEFAULTS.nbits));
  // Every width in the set builds and searches an index.
  const dir = mkdtempSync(join(tmpdir(), 'plait-nbits-'));
  try {
    const { passages } = syntheticPassages(300, 16, 4, 32, 0.2);
    await buildSynthetic(join(dir, 'i8'), passages, 16, 8);
    const idx = await openIndex(join(dir, 'i8'));
    assert.equal(idx.manifest.nbits, 8);
    const r = idx.searchEncoded('', passages[7]!, { mode: 'late', topK: 1, exhaustive: true });
    assert.equal(r.hits[0]!.docId, 'd7');
    await idx.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('threads: 0 means in-process; omitted means auto', () => {
  assert.equal(resolveEncoderOptions({ threads: 0 }).threads, 0);
  assert.equal(resolveEncoderOptions({}).threads, Math.min(availableParallelism(), ENCODER_DEFAULTS.maxAutoThreads));
});

test('writeFileAtomic replaces a file whole and leaves no temporary file when it fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-atomic-'));
  try {
    const f = join(dir, 'a.txt');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, new Uint8Array([116, 119, 111]));
    assert.equal(readFileSync(f, 'utf8'), 'two');
    assert.throws(() => writeFileAtomic(join(dir, 'missing', 'b.txt'), 'x'), /ENOENT/);
    assert.deepEqual(readdirSync(dir), ['a.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI shows the defaults module\'s values', () => {
  // Help lines wrap at the option column, which the longest flag sets (a default can be cut as
  // "(default:\n     10)"): the text is read with its white space runs as one space.
  const help = (cmd: string): string => spawnSync(process.execPath, [BIN, cmd, '--help'], { encoding: 'utf8' }).stdout.replace(/\s+/g, ' ');
  assert.match(help('eval'), new RegExp(`--depth <n>[\\s\\S]{0,400}?\\(default: ${EVAL_DEFAULTS.depth}\\)`));
  // A choice option prints its default quoted: (choices: "1", ..., default: "2").
  assert.match(help('index'), new RegExp(`--nbits <n>[\\s\\S]{0,400}?default: "?${BUILD_DEFAULTS.nbits}"?\\)`));
  assert.match(help('search'), new RegExp(`--k <n>[\\s\\S]{0,160}?\\(default: ${SEARCH_DEFAULTS.topK}\\)`));
});
