/**
 * The npm package as a user gets it: `npm pack`, then `npm install ./plait-<version>.tgz` in an empty
 * project. The CLI runs, `import { openIndex } from 'plait'` resolves with its types (a wrong call is
 * a type error), the native kernels load from the shipped prebuild with no compiler involved, and
 * nothing of tests, benchmarks, fixtures or data is in the tarball. The subpath exports
 * `plait/langchain` and `plait/ai-sdk` resolve with their types, checked against the optional peers
 * (@langchain/core, @ai-sdk/provider) installed beside the tarball as a user would.
 *
 * What the test does not touch: the repository's own tree. `npm pack` there would run `prepack`
 * (tsc, then prebuildify, which recompiles the addon and moves it out of native-kernels/build/)
 * under the feet of the test files running beside this one. So the tracked files and the compiled
 * dist/ are copied to a staging folder, the prebuild is laid there as prebuildify lays it (from
 * native-kernels/build/Release, the same compile), and `npm pack --ignore-scripts` packs it with
 * the real `files` list. `prepack` itself is exercised by hand (`npm pack`, ~40 s) and in release CI.
 * The consumer's install is the one the README promises (section "Installing plait as a
 * dependency"): the consumer's package.json denies the two dependency install scripts that reach
 * past the registry (`allowScripts`, npm 11, which otherwise runs unreviewed scripts with a
 * notice), the PATH holds node, npm and sh but no compiler, make or python, and the network is
 * this machine's: the npm registry only (dependencies come from the npm cache, the registry is
 * asked only for metadata the cache lacks: `--prefer-offline`). So the index round trip at the end
 * runs on plait's prebuilt kernels and on the better-sqlite3 binding plait ships
 * (native-kernels/sqlite-prebuilds/, src/docstore/open-database.ts), with no download from another
 * host and no compile. npm 10 is the README's `--ignore-scripts` case: the same install and round
 * trip with `npx npm@10 install --ignore-scripts` (PLAIT_TEST_NPM10=1, set by .ci/run; ~45 s more).
 * Without the flag npm 10 exits 1 in a dependency's script, as the issue found (checked by hand).
 * Measured on a 2-core machine at load 20–25: ~60 s, ~4.5 min with the npm 10 install; most of it installs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT, inCi } from './helpers/requirements.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const BUILT_ADDON = join(REPO_ROOT, 'native-kernels', 'build', 'Release', 'plait_kernels.node');
const SQLITE_ROOT = join(REPO_ROOT, 'node_modules', 'better-sqlite3');
const SQLITE_VERSION = (JSON.parse(readFileSync(join(SQLITE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SQLITE_PREBUILD = `native-kernels/sqlite-prebuilds/better-sqlite3@${SQLITE_VERSION}-${platform()}-${arch()}-abi${process.versions.modules}.node`;
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

let dir: string;
let tarball: string;
let files: string[];
let consumer: string;
let bareEnv: NodeJS.ProcessEnv;
let installLog: string;

/**
 * An environment whose PATH holds node, npm, npx and sh and nothing else: no cc, g++, make or
 * python, so nothing can be compiled (node-gyp finds no toolchain).
 */
function toolchainFreeEnv(root: string): NodeJS.ProcessEnv {
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const which = (tool: string): string => ok(run('sh', ['-c', `command -v ${tool}`], root, process.env), `which ${tool}`).trim();
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const tool of ['npm', 'npx', 'sh']) symlinkSync(which(tool), join(bin, tool));
  return { ...cleanEnv(), PATH: bin };
}
/** The environment without the npm_* variables of an enclosing `npm test`, which would steer the nested npm. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (status ${r.status}, ${r.error?.message ?? ''}):\n${r.stdout}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/**
 * Type-checks `<file>.ts` in the consumer project as a strict NodeNext user would; `whole` also checks
 * every declaration file the program reaches (no skipLibCheck), under `resolution`.
 */
function typecheck(file: string, { whole = false, resolution = 'NodeNext' }: { whole?: boolean; resolution?: 'NodeNext' | 'Bundler' } = {}): SpawnSyncReturns<string> {
  const p = join(consumer, `tsconfig.${file}.${resolution}.json`);
  const module = resolution === 'Bundler' ? 'ESNext' : 'NodeNext';
  // skipLibCheck unless `whole`: the peers' own declarations are theirs to keep; plait's are checked through its use.
  writeFileSync(p, JSON.stringify({ compilerOptions: { module, moduleResolution: resolution, target: 'ES2022', strict: true, noEmit: true, skipLibCheck: !whole, types: [] }, files: [`${file}.ts`] }));
  return run(process.execPath, [TSC, '-p', p], consumer);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-pack-'));
  const stage = join(dir, 'stage');
  // The tracked files plus the compiled output, as a release checkout has them after `npm run build`.
  const tracked = ok(run('git', ['ls-files', '-z'], REPO_ROOT, process.env), 'git ls-files').split('\0').filter((f) => f !== '');
  for (const f of tracked) {
    if (!existsSync(join(REPO_ROOT, f))) continue;
    mkdirSync(dirname(join(stage, f)), { recursive: true });
    cpSync(join(REPO_ROOT, f), join(stage, f));
  }
  cpSync(join(REPO_ROOT, 'dist'), join(stage, 'dist'), { recursive: true });
  if (existsSync(BUILT_ADDON)) {
    const prebuilds = join(stage, 'native-kernels', 'prebuilds', `${platform()}-${arch()}`);
    mkdirSync(prebuilds, { recursive: true });
    cpSync(BUILT_ADDON, join(prebuilds, 'node.napi.node'));
  }
  // As `npm run build:prebuilds` lays it: this checkout's better-sqlite3 binding (the pinned version).
  mkdirSync(dirname(join(stage, SQLITE_PREBUILD)), { recursive: true });
  cpSync(join(SQLITE_ROOT, 'build', 'Release', 'better_sqlite3.node'), join(stage, SQLITE_PREBUILD));
  const out = ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], stage), 'npm pack');
  const report = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(dir, report[0]!.filename);
  files = report[0]!.files.map((f) => f.path);

  consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  // The two lines the README asks of an npm 11 user: deny the two dependency install scripts that
  // reach past the registry (onnxruntime-node's CUDA download, better-sqlite3's GitHub download
  // then compile). npm 11 runs unreviewed dependency scripts with a notice; a denied one never runs.
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', allowScripts: { 'better-sqlite3': false, 'onnxruntime-node': false } }));
  bareEnv = toolchainFreeEnv(dir);
  for (const tool of ['cc', 'gcc', 'g++', 'c++', 'make', 'python3']) {
    assert.notEqual(run('sh', ['-c', `command -v ${tool}`], consumer, bareEnv).status, 0, `${tool} is not on the consumer's PATH`);
  }
  // The integrations' optional peers, at the versions the repository tests with, so that the consumer can type-check plait/langchain and plait/ai-sdk.
  const peers = ['@langchain/core', '@ai-sdk/provider'].map((p) => `${p}@${(JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version}`);
  installLog = ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball, ...peers], consumer, bareEnv), 'npm install of the tarball');
});

after(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the library, its types, the CLI and the kernels, and nothing of tests, benches, fixtures or data', () => {
  assert.equal(tarball.endsWith(`${pkg.name}-${pkg.version}.tgz`), true);
  for (const f of ['package.json', 'README.md', SQLITE_PREBUILD, 'bin/plait.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'native-kernels/binding.gyp', 'native-kernels/src/addon.cc', 'scripts/install-native.mjs', 'examples/sample-corpus.jsonl', 'src/server/playground/index.html', 'src/server/playground/playground.js', 'dist/src/integrations/langchain.js', 'dist/src/integrations/langchain.d.ts', 'dist/src/integrations/ai-sdk.js', 'dist/src/integrations/ai-sdk.d.ts']) {
    assert.ok(files.includes(f), `${f} is shipped`);
  }
  const unwanted = files.filter((f) => /^(test|bench|fixtures|dist\/(test|bench|fixtures)|indexes|\.ci|docs)\//.test(f) || f.endsWith('.map') || (/\.(jsonl|tsv|sqlite)$/.test(f) && f !== 'examples/sample-corpus.jsonl') || f === 'package-lock.json' || f === 'tsconfig.json');
  assert.deepEqual(unwanted, []);
  if (existsSync(BUILT_ADDON)) assert.ok(files.includes(`native-kernels/prebuilds/${platform()}-${arch()}/node.napi.node`));
});

test('the installed CLI runs', () => {
  const bin = join(consumer, 'node_modules', '.bin', 'plait');
  const help = ok(run(bin, ['--help'], consumer), 'plait --help');
  assert.match(help, /Usage: plait/);
  assert.equal(ok(run(bin, ['--version'], consumer), 'plait --version').trim(), pkg.version);
});

test("import { openIndex } from 'plait' resolves, and the prebuilt native kernels load without a build step", { skip: existsSync(BUILT_ADDON) || inCi() ? false : 'no native build to lay as the prebuild (npm run build:native)' }, () => {
  assert.ok(!existsSync(join(consumer, 'node_modules', 'plait', 'native-kernels', 'build')), 'no local build in the installed package');
  const env = { ...cleanEnv(), PLAIT_KERNELS: 'native' };
  const out = ok(
    run(process.execPath, ['--input-type=module', '-e', "import { openIndex, kernelsStatus } from 'plait'; console.log(typeof openIndex, kernelsStatus().active)"], consumer, env),
    'import plait',
  );
  assert.match(out.trim(), /^function native-(scalar|avx2|avx512)$/);
});

/**
 * Runs the README's first Library example verbatim inside `project`, as an application copies it
 * (corpus.jsonl: the sample corpus; offline: HF_ENDPOINT at a closed port, an empty model cache),
 * then searches the index it built. The example had asked for `colbert-ir/colbertv2.0` (a Hugging
 * Face download: DOWNLOAD_FAILED offline) and reranked the placeholder ids 'doc-7' and 'doc-3'
 * (DOCUMENT_NOT_FOUND on any corpus without them): a verbatim copy never ran, only type-checked.
 * It builds into ./indexes (bare names), so PLAIT_INDEX_DIR is left out.
 */
function roundTrip(project: string): void {
  assert.ok(!existsSync(join(project, 'node_modules', 'better-sqlite3', 'build')), "better-sqlite3's install script did not run");
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const example = /^## Library\n[\s\S]*?```ts\n([\s\S]*?)```/m.exec(readme)?.[1];
  assert.ok(example?.includes("from 'plait'"), "the README's Library section opens with an example importing 'plait'");
  cpSync(join(REPO_ROOT, 'examples', 'sample-corpus.jsonl'), join(project, 'corpus.jsonl'));
  // It has no type annotations: it runs as JavaScript as written.
  writeFileSync(join(project, 'readme-example.mjs'), example!);
  const env = { ...Object.fromEntries(Object.entries(bareEnv).filter(([k]) => k !== 'PLAIT_INDEX_DIR')), HF_ENDPOINT: 'http://127.0.0.1:9', PLAIT_CACHE_DIR: join(project, 'model-cache') };
  const progress = ok(run(process.execPath, ['readme-example.mjs'], project, env), "the README's Library example, verbatim");
  assert.match(progress, /phase: 'done'/, 'its onProgress: console.log printed the phases');
  const script = [
    "import { openIndex } from 'plait';",
    "const index = await openIndex('my-index');",
    "const { hits } = await index.search('why does bread dough rise', { topK: 3 });",
    "const notes = await openIndex('notes');",
    'console.log(JSON.stringify({ documents: index.manifest.counts.documents, top: hits[0]?.docId, notes: notes.manifest.counts.documents }));',
    'await index.close();',
    'await notes.close();',
  ].join('\n');
  const out = ok(run(process.execPath, ['--input-type=module', '-e', script], project, env), 'search of the index the example built');
  const result = JSON.parse(out.trim().split('\n').pop()!) as { documents: number; top: string; notes: number };
  const sampleDocs = readFileSync(join(REPO_ROOT, 'examples', 'sample-corpus.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
  assert.deepEqual(result, { documents: sampleDocs, top: 'bread-yeast', notes: 1 });
}

test("npm 11, scripts denied: the README's Library example runs verbatim, with no compile and no download; better-sqlite3 loads the binding plait ships", () => {
  roundTrip(consumer);
});

// npm 10 runs every dependency install script (onnxruntime-node's exits 1 without NuGet; better-sqlite3's
// needs GitHub or a compiler), so its README line is `npm install --ignore-scripts plait`. ~45 s more
// (npm 10 itself comes from the registry through npx), so .ci/run turns it on (PLAIT_TEST_NPM10=1).
test('npm 10 with --ignore-scripts: the same round trip', { skip: process.env['PLAIT_TEST_NPM10'] === '1' ? false : 'set PLAIT_TEST_NPM10=1 (.ci/run does) to install with npm 10 as well' }, () => {
  const project = join(dir, 'consumer-npm10');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer-npm10', version: '1.0.0', private: true, type: 'module' }));
  const version = ok(run('npx', ['--yes', 'npm@10', '--version'], project, bareEnv), 'npx npm@10').trim();
  assert.match(version, /^10\./);
  ok(run('npx', ['--yes', 'npm@10', 'install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball], project, bareEnv), 'npm 10 install of the tarball');
  roundTrip(project);
});

test('the published types check a correct call and reject a wrong one', () => {
  writeFileSync(join(consumer, 'good.ts'), "import { openIndex, type PlaitIndex } from 'plait';\nexport const open: (path: string) => Promise<PlaitIndex> = (p) => openIndex(p);\n");
  writeFileSync(join(consumer, 'bad.ts'), "import { openIndex } from 'plait';\nopenIndex(42);\n");
  ok(typecheck('good'), 'tsc on a correct use');
  const bad = typecheck('bad');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /TS2345/);
  assert.ok(readdirSync(join(consumer, 'node_modules', 'plait', 'dist', 'src')).includes('index.d.ts'));
});

// A consumer without skipLibCheck checks every .d.ts plait's reach: they had named better-sqlite3's
// types (@types/better-sqlite3 was a dev dependency: TS7016) and onnx-proto's, whose global `Long`
// only @types/long declares (TS2304, 24 times), so `tsc` failed on plait itself before the user's code.
test("the README's library example type-checks verbatim, with every declaration file plait ships checked, under NodeNext and bundler resolution", () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const example = /^## Library\n[\s\S]*?```ts\n([\s\S]*?)```/m.exec(readme)?.[1];
  assert.ok(example?.includes("from 'plait'"), "the README's Library section opens with a TypeScript example importing 'plait'");
  // Every public function's options type has a name to import (RerankCallOptions, IndexRerankOptions, … had none).
  const optionTypes = ['SearchOptions', 'OpenIndexOptions', 'BuildOptions', 'AddOptions', 'RerankOptions', 'RerankerOptions', 'RerankCallOptions', 'IndexRerankOptions', 'EncodeDocumentsOptions', 'EvaluateOptions', 'ReadRunOptions', 'WriteRunOptions', 'LoadIndexDataOptions', 'CrossEncoderFilesOptions', 'EncodeClusterWriteOptions', 'ErrorCode'];
  const types = `import type { ${optionTypes.join(', ')} } from 'plait';\nexport type Named = [${optionTypes.join(', ')}];\n`;
  writeFileSync(join(consumer, 'readme-library.ts'), `${example}${types}import type { ServerOptions } from 'plait/server';\nexport type Served = ServerOptions;\n`);
  for (const resolution of ['NodeNext', 'Bundler'] as const) {
    const r = typecheck('readme-library', { whole: true, resolution });
    assert.equal(r.status, 0, `tsc (${resolution}, no skipLibCheck):\n${r.stdout.slice(-3000)}`);
  }
});

test('plait/langchain and plait/ai-sdk resolve as subpath exports, with types a TypeScript consumer checks', () => {
  writeFileSync(
    join(consumer, 'integrations-good.ts'),
    [
      "import { openIndex } from 'plait';",
      "import { PlaitRetriever, PlaitRerank } from 'plait/langchain';",
      "import { plait } from 'plait/ai-sdk';",
      "import type { BaseRetriever } from '@langchain/core/retrievers';",
      "import type { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';",
      "import type { RerankingModelV3 } from '@ai-sdk/provider';",
      'export async function make(path: string): Promise<[BaseRetriever, BaseDocumentCompressor, RerankingModelV3]> {',
      '  const index = await openIndex(path);',
      '  return [new PlaitRetriever({ index, searchOptions: { topK: 3 } }), new PlaitRerank({ topN: 2 }), plait.reranking()];',
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(join(consumer, 'integrations-bad.ts'), "import { PlaitRetriever } from 'plait/langchain';\nimport { plait } from 'plait/ai-sdk';\nnew PlaitRetriever({ index: 42 });\nplait.reranking(42);\n");
  ok(typecheck('integrations-good'), 'tsc on a correct use of the integrations');
  const bad = typecheck('integrations-bad');
  assert.notEqual(bad.status, 0);
  // Type errors on the arguments, not "cannot find module": the subpaths' types resolved.
  assert.match(bad.stdout, /integrations-bad\.ts\(3,[0-9]+\): error TS2322/);
  assert.match(bad.stdout, /integrations-bad\.ts\(4,[0-9]+\): error TS2345/);
  assert.doesNotMatch(bad.stdout, /TS2307/);
  const out = ok(
    run(process.execPath, ['--input-type=module', '-e', "const a = await import('plait/ai-sdk'); const l = await import('plait/langchain'); console.log(a.plait.reranking().provider, typeof l.PlaitRetriever, typeof l.PlaitRerank)"], consumer),
    'import of the subpaths',
  );
  assert.equal(out.trim(), 'plait function function');
  // plait/server: the HTTP server as a library (startServer, whose options the README lists), not
  // loaded by `import 'plait'` (Fastify stays out of a library-only process).
  const server = ok(run(process.execPath, ['--input-type=module', '-e', "const s = await import('plait/server'); console.log(typeof s.startServer, typeof s.closeOnSignals)"], consumer), 'import of plait/server');
  assert.equal(server.trim(), 'function function');
});
