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
 * The consumer's install resolves plait's dependencies from the npm cache, asking the registry
 * only for metadata it lacks (`--prefer-offline`); `--ignore-scripts` because prebuilt kernels need
 * no install step (that is the point) and compiling better-sqlite3 would take a minute.
 * Measured: ~30 s, most of it the install.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT, inCi } from './helpers/requirements.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const BUILT_ADDON = join(REPO_ROOT, 'native-kernels', 'build', 'Release', 'plait_kernels.node');
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

let dir: string;
let tarball: string;
let files: string[];
let consumer: string;

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

/** Type-checks `<file>.ts` in the consumer project as a strict NodeNext user would. */
function typecheck(file: string): SpawnSyncReturns<string> {
  const p = join(consumer, `tsconfig.${file}.json`);
  // skipLibCheck: the consumer has no @types/node; plait's own .d.ts are checked through its use.
  writeFileSync(p, JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: [`${file}.ts`] }));
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
  const out = ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], stage), 'npm pack');
  const report = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(dir, report[0]!.filename);
  files = report[0]!.files.map((f) => f.path);

  consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  // The integrations' optional peers, at the versions the repository tests with, so that the consumer can type-check plait/langchain and plait/ai-sdk.
  const peers = ['@langchain/core', '@ai-sdk/provider'].map((p) => `${p}@${(JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version}`);
  ok(run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball, ...peers], consumer), 'npm install of the tarball');
});

after(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the library, its types, the CLI and the kernels, and nothing of tests, benches, fixtures or data', () => {
  assert.equal(tarball.endsWith(`${pkg.name}-${pkg.version}.tgz`), true);
  for (const f of ['package.json', 'README.md', 'bin/plait.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'native-kernels/binding.gyp', 'native-kernels/src/addon.cc', 'scripts/install-native.mjs', 'examples/sample-corpus.jsonl', 'src/server/playground/index.html', 'src/server/playground/playground.js', 'dist/src/integrations/langchain.js', 'dist/src/integrations/langchain.d.ts', 'dist/src/integrations/ai-sdk.js', 'dist/src/integrations/ai-sdk.d.ts']) {
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

test('the published types check a correct call and reject a wrong one', () => {
  writeFileSync(join(consumer, 'good.ts'), "import { openIndex, type PlaitIndex } from 'plait';\nexport const open: (path: string) => Promise<PlaitIndex> = (p) => openIndex(p);\n");
  writeFileSync(join(consumer, 'bad.ts'), "import { openIndex } from 'plait';\nopenIndex(42);\n");
  ok(typecheck('good'), 'tsc on a correct use');
  const bad = typecheck('bad');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /TS2345/);
  assert.ok(readdirSync(join(consumer, 'node_modules', 'plait', 'dist', 'src')).includes('index.d.ts'));
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
});
