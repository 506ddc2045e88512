/**
 * What an application's author reads in their editor: the published declarations (dist/src/**.d.ts,
 * what `npm pack` ships) document every member of the API's main types, as the house rule asks
 * (shapes, units, ranges, errors thrown). A user's second hour found `PlaitIndex.search`, the API's
 * main method, without a word in its .d.ts, and SearchOptions' `fusion` and `rrfK`, BuildOptions'
 * `seed`, `kmeansIters`, `onProgress`, BuildResult's fields and more bare.
 * Reads the compiled declarations (`npm run build:ts` writes them beside the tests): ~0.1 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/requirements.js';

/** The declaration file and the exported types in it whose every public member must carry a doc comment. */
const DOCUMENTED: ReadonlyArray<[file: string, names: readonly string[]]> = [
  ['search/plait-index.d.ts', ['PlaitIndex', 'OpenIndexOptions', 'AddOptions', 'WriteOptions']],
  ['search/query-encoder.d.ts', ['QueryEncoderOptions']],
  ['search/search-options.d.ts', ['SearchOptions']],
  ['indexer/build-index.d.ts', ['BuildOptions', 'BuildProgress', 'BuildResult']],
  ['rerank/reranker.d.ts', ['RerankerOptions', 'RerankResult', 'Reranker']],
];

/** The members of `export interface <name>` / `export declare class <name>` in `dts` that no doc comment precedes. */
function undocumented(dts: string, name: string): string[] {
  const lines = dts.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^export (interface|declare class) ${name}\\b`).test(l));
  assert.ok(start >= 0, `${name} is declared`);
  const bare: string[] = [];
  let previous = '';
  for (let i = start + 1; i < lines.length && lines[i] !== '}'; i++) {
    const line = lines[i]!;
    const member = /^ {4}(?:readonly |static |get |set )*([A-Za-z_$][\w$]*)\??[(:<]/.exec(line);
    if (member !== null && !/^ {4}private /.test(line) && !previous.trimEnd().endsWith('*/')) bare.push(member[1]!);
    if (line.trim() !== '') previous = line;
  }
  return bare;
}

test("every public member of the API's main classes and options types has a doc comment in the published .d.ts", () => {
  const missing: string[] = [];
  for (const [file, names] of DOCUMENTED) {
    const dts = readFileSync(join(REPO_ROOT, 'dist', 'src', file), 'utf8');
    for (const name of names) missing.push(...undocumented(dts, name).map((m) => `${name}.${m}`));
  }
  assert.deepEqual(missing, []);
});
