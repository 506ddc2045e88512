/**
 * The CLI loads only the module of the command a command line names (src/cli/main.ts,
 * COMMAND_MODULES): the table must say exactly which top-level commands each module registers, a
 * named command must find its module, and a short command must not load the server, the cluster's
 * NATS client or calibration. Measured: `plait info` read 337 ES modules (0.63 s of CPU) before,
 * 169 (0.30 s) after; `plait --version` 353 → 12.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { COMMAND_MODULES, buildProgram } from '../src/cli/main.js';
import { PLAIT_BIN } from './helpers/cli.js';

function names(program: Command): string[] {
  return program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
}

test('each command module registers exactly the commands the table names, in help order', async () => {
  const all: string[] = [];
  for (const m of COMMAND_MODULES) {
    const p = new Command();
    (await m.load())(p);
    assert.deepEqual(names(p), [...m.commands], `module of ${m.commands.join(', ')}`);
    all.push(...m.commands);
  }
  assert.equal(new Set(all).size, all.length, 'no command in two modules');
  assert.deepEqual(names(await buildProgram()), all, 'the whole program: every module, in the table order');
});

test('a named command loads its module alone; an unknown one, help or no command loads every module; --version none', async () => {
  assert.deepEqual(names(await buildProgram({ only: 'rerank' })), ['search', 'rerank']);
  assert.deepEqual(names(await buildProgram({ only: 'restore' })), ['add', 'delete', 'compact', 'backup', 'restore']);
  const every = names(await buildProgram());
  assert.deepEqual(names(await buildProgram({ only: 'serach' })), every);
  assert.deepEqual(names(await buildProgram({ only: 'help' })), every);
  assert.deepEqual(names(await buildProgram({ only: null })), []);
});

/** The ES modules a CLI run loads (a module hook logs each URL), and its result. */
function loadedModules(args: string[]): { urls: string[]; status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'plait-lazy-'));
  try {
    const log = join(dir, 'modules.txt');
    const hook = join(dir, 'hook.mjs');
    writeFileSync(log, '');
    const loader = `import { appendFileSync } from 'node:fs'; export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }`;
    writeFileSync(hook, `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(loader)}`)});`);
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, PLAIT_BIN, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
    return { urls: readFileSync(log, 'utf8').split('\n').filter((x) => x !== ''), status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('short commands do not load the server, NATS or calibration; --version loads almost nothing', () => {
  const heavy = /\/dist\/src\/(server|calibrate|ltr)\/|\/node_modules\/(fastify|@nats-io|prom-client)\//;
  for (const args of [['info', 'no-such-index'], ['add', 'no-such-index', 'no-such-file.jsonl'], ['delete', 'no-such-index', '--ids', 'a']]) {
    const r = loadedModules(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /INDEX_NOT_FOUND|FILE_NOT_FOUND/, args.join(' '));
    assert.ok(r.urls.length > 20, `${args.join(' ')}: the hook saw the command's modules (${r.urls.length})`);
    assert.deepEqual(r.urls.filter((u) => heavy.test(u)), [], args.join(' '));
  }
  const v = loadedModules(['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  assert.ok(v.urls.length < 30, `--version loaded ${v.urls.length} modules`);
  // Serving does load the server (the check above can see it).
  const s = loadedModules(['serve', 'no-such-index']);
  assert.ok(s.urls.some((u) => /\/dist\/src\/server\//.test(u)), 'plait serve loads the server');
});
