/**
 * util/lazy-module.ts: the packages that serve one kind of input (front matter, CSV, checkpoint
 * conversion) are not loaded by a command's start, and load at their first use; the ONNX enum
 * numbers written in onnx-graph-builder.ts (so that naming a type does not load onnx-proto) are
 * onnx-proto's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { ONNX_ATTRIBUTE_TYPE, ONNX_DATA_TYPE } from '../src/encoder/convert/onnx-graph-builder.js';

const LAZY = ['yaml', 'smol-toml', 'csv-parse', 'onnx-proto', 'protobufjs'];
const NATS = ['@nats-io/transport-node', '@nats-io/nats-core', '@nats-io/jetstream', '@nats-io/obj'];

/** The packages under node_modules in a fresh process's require cache after `script`. */
function packagesLoadedBy(script: string): string[] {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `${script}
    const { createRequire } = await import('node:module');
    const cache = createRequire(import.meta.url).cache;
    const names = new Set(Object.keys(cache).filter((k) => k.includes('/node_modules/')).map((k) => {
      const parts = k.split('/node_modules/').pop().split('/');
      return parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0];
    }));
    process.stdout.write(JSON.stringify([...names]));`], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

const dist = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));

test('the commands that open an index load none of the one-input packages; each loads at its first use', () => {
  const atStart = packagesLoadedBy(`await import(${JSON.stringify(dist('../src/cli/commands/search-commands.js'))}); await import(${JSON.stringify(dist('../src/cli/commands/index-commands.js'))}); await import(${JSON.stringify(dist('../src/cli/commands/living-commands.js'))});`);
  assert.ok(atStart.includes('better-sqlite3'), `the probe sees CommonJS packages: ${atStart.join(', ')}`);
  for (const p of LAZY) assert.ok(!atStart.includes(p), `${p} is loaded at start: ${atStart.join(', ')}`);
  const afterNote = packagesLoadedBy(`const { readFrontMatter } = await import(${JSON.stringify(dist('../src/indexer/corpus/front-matter.js'))});
    if (readFrontMatter('---\\ntitle: a\\n---\\nbody').kind !== 'ok') throw new Error('yaml');
    if (readFrontMatter('+++\\ntitle = "a"\\n+++\\nbody').kind !== 'ok') throw new Error('toml');`);
  assert.ok(afterNote.includes('yaml') && afterNote.includes('smol-toml'), afterNote.join(', '));
});

test("importing the library loads no NATS package (src/cluster/nats-modules.ts) and no native runtime (src/encoder/native-runtimes.ts); the cluster's first call loads NATS", () => {
  const atImport = packagesLoadedBy(`await import(${JSON.stringify(dist('../src/index.js'))});`);
  assert.ok(atImport.includes('better-sqlite3'), atImport.join(', '));
  for (const p of [...NATS, ...LAZY, 'onnxruntime-node', 'onnxruntime-common', 'tokenizers', 'msgpackr']) assert.ok(!atImport.includes(p), `${p} is loaded at import: ${atImport.join(', ')}`);
  const afterCall = packagesLoadedBy(`const { natsCore, natsJetStream } = await import(${JSON.stringify(dist('../src/cluster/nats-modules.js'))});
    if (typeof natsCore().connect !== 'function' || natsJetStream().DiscardPolicy.Old !== 'old') throw new Error('nats');`);
  assert.ok(afterCall.includes('@nats-io/transport-node') && afterCall.includes('@nats-io/jetstream'), afterCall.join(', '));
});

test("the ONNX type numbers written in onnx-graph-builder.ts are onnx-proto's enums", () => {
  const { DataType } = onnxProto.onnx.TensorProto;
  assert.deepEqual(ONNX_DATA_TYPE, { FLOAT: DataType.FLOAT, UINT8: DataType.UINT8, INT8: DataType.INT8, INT64: DataType.INT64 });
  const { AttributeType } = onnxProto.onnx.AttributeProto;
  assert.deepEqual(ONNX_ATTRIBUTE_TYPE, { FLOAT: AttributeType.FLOAT, INT: AttributeType.INT, INTS: AttributeType.INTS });
});
