/**
 * The frameworks stay optional: `import 'plait'` must work for a user who has neither LangChain nor
 * the AI SDK installed, and only `plait/langchain` / `plait/ai-sdk` need them.
 *
 * The missing install is simulated in a child process by a module resolve hook (node:module
 * register) that answers ERR_MODULE_NOT_FOUND for @langchain/*, ai and @ai-sdk/*: the main entry
 * point loads with its exports, while each integration fails to load naming
 * the missing package (which shows the hook does block). A static scan of the compiled library
 * also catches a lazy `import()` of a framework outside src/integrations/, which loading alone
 * would not reach.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './helpers/requirements.js';

const FRAMEWORK = /^(@langchain\/|ai$|@ai-sdk\/)/;
const DIST_SRC = join(REPO_ROOT, 'dist', 'src');
let dir: string;
let hook: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-optional-'));
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  if (${FRAMEWORK}.test(specifier)) {
    const e = new Error('Cannot find package ' + JSON.stringify(specifier) + ' (hidden by the test)');
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}
`,
  );
  hook = join(dir, 'register.mjs');
  writeFileSync(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `code` (an ES module) in a child whose resolver hides the frameworks; returns its status and output. */
function withoutFrameworks(code: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, '--input-type=module', '-e', code], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
}

test("import 'plait' works without LangChain or the AI SDK installed", () => {
  const main = pathToFileURL(join(DIST_SRC, 'index.js')).href;
  const r = withoutFrameworks(`const p = await import(${JSON.stringify(main)}); console.log(typeof p.openIndex, typeof p.Reranker, typeof p.rerank);`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function function function');
});

test('plait/langchain and plait/ai-sdk fail to load without their framework, naming it', () => {
  for (const [file, pkg] of [['langchain.js', '@langchain/core'], ['ai-sdk.js', '@ai-sdk/provider']] as const) {
    const url = pathToFileURL(join(DIST_SRC, 'integrations', file)).href;
    const r = withoutFrameworks(`await import(${JSON.stringify(url)});`);
    assert.notEqual(r.status, 0, `${file} loaded with ${pkg} hidden`);
    assert.match(r.stderr, new RegExp(`ERR_MODULE_NOT_FOUND[\\s\\S]*${pkg.replace('/', '\\/')}|${pkg.replace('/', '\\/')}[\\s\\S]*ERR_MODULE_NOT_FOUND`));
  }
});

test('no compiled library file outside src/integrations/ imports a framework, statically or lazily', () => {
  const offenders: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (p !== join(DIST_SRC, 'integrations')) walk(p);
      } else if (e.name.endsWith('.js')) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)) {
          if (FRAMEWORK.test(m[1]!)) offenders.push(`${relative(DIST_SRC, p)}: ${m[1]}`);
        }
      }
    }
  };
  walk(DIST_SRC);
  assert.deepEqual(offenders, []);
  // The scan sees what it looks for: the integrations themselves do import their framework.
  assert.match(readFileSync(join(DIST_SRC, 'integrations', 'langchain.js'), 'utf8'), /from ['"]@langchain\/core\/retrievers['"]/);
});
