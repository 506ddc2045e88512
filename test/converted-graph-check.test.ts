/**
 * A converted graph replaced in the cache after conversion is noticed when it is reused (size, then
 * mtime, then sha256 when the mtime moved) and rebuilt from its sources. It had been reused as long
 * as its size matched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureConvertedGraph, type ConvertManifest } from '../src/encoder/convert/index.js';
import { makeBertCheckpoint } from './helpers/tiny-bert.js';

let root: string;
let dir: string;
let cacheDir: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-converted-check-'));
  dir = path.join(root, 'ckpt');
  cacheDir = path.join(root, 'cache');
  await makeBertCheckpoint(dir, { layout: 'colbert' });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

test('a graph replaced after conversion with one of the same size is rebuilt, not reused', async () => {
  const first = await ensureConvertedGraph(dir, { cacheDir });
  assert.equal(first.fromCache, false);
  // Untouched: reused.
  assert.equal((await ensureConvertedGraph(dir, { cacheDir })).fromCache, true);
  // The same size, other bytes (a damaged copy, another graph of the same shape): a byte in the weights flipped.
  const bytes = await readFile(first.onnxPath);
  bytes[bytes.length >> 1] ^= 0xff;
  await writeFile(first.onnxPath, bytes);
  const again = await ensureConvertedGraph(dir, { cacheDir });
  assert.equal(again.fromCache, false, 'the replaced graph was reused');
  assert.equal(await sha256(again.onnxPath), first.manifest.graph.sha256);
  // Only the mtime moved (a touch, a copy of the same bytes): reused after one sha256, and the new mtime recorded.
  const later = new Date(Date.now() + 60_000);
  await utimes(again.onnxPath, later, later);
  assert.equal((await ensureConvertedGraph(dir, { cacheDir })).fromCache, true);
  const manifest = JSON.parse(await readFile(again.manifestPath, 'utf8')) as ConvertManifest;
  assert.equal(manifest.graph.mtimeMs, (await stat(again.onnxPath)).mtimeMs);
});

test('a manifest from before mtimes were recorded: the graph is checked by sha256 once, then the mtime is recorded', async () => {
  const built = await ensureConvertedGraph(dir, { cacheDir });
  const old: ConvertManifest = { ...built.manifest, graph: { file: built.manifest.graph.file, bytes: built.manifest.graph.bytes, sha256: built.manifest.graph.sha256 } };
  await writeFile(built.manifestPath, JSON.stringify(old));
  const reused = await ensureConvertedGraph(dir, { cacheDir });
  assert.equal(reused.fromCache, true);
  const upgraded = JSON.parse(await readFile(built.manifestPath, 'utf8')) as ConvertManifest;
  assert.equal(upgraded.graph.mtimeMs, (await stat(built.onnxPath)).mtimeMs);
});
