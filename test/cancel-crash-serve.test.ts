/**
 * A cancelled HTTP write, then a crash, on the real `plait serve` (test/helpers/serve-crash-child.ts
 * runs the CLI's main with fs-op-counter.ts wrapped in; test/cancel-crash.test.ts does the same for
 * the library's `add`). After an acknowledged POST /documents:
 *  - a large write (80 documents) past its `timeout_ms` while encoding answers 504, a next write is
 *    acknowledged, and the server is SIGKILLed: nothing of the cancelled write, both acknowledged ones;
 *  - a large write whose client disconnects as its commit starts (the cancel arrives during the
 *    commit: the server finishes it, `irrevocable`): without a kill it is all there; killed after
 *    one chosen file operation of its transaction (the last before the commit, the first of the
 *    commit, the first after the folder fsync — past the store's SQLite commit —, the manifest's
 *    rename, the last), it is all there or not at all.
 * Every folder is then checked as helpers/crash-check.ts says (verified in full, `plait info`, no
 * stray file after the next writer).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex } from '../src/index.js';
import { SAMPLE, postJson } from './helpers/server-fixture.js';
import { checkAfterCrash } from './helpers/crash-check.js';

const CHILD = fileURLToPath(new URL('./helpers/serve-crash-child.js', import.meta.url));
const BIG = 80;
const WORDS = 'glaciers carve valleys while rivers braid across outwash plains and moraines hold the lakes they leave behind'.split(' ');
const bigWrite = Array.from({ length: BIG }, (_, i) => ({ doc_id: `big-${i}`, text: Array.from({ length: 40 }, (_, j) => WORDS[(i + j) % WORDS.length]).join(' ') }));
let dir: string;
let base: string;
let runs = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cancel-crash-serve-'));
  base = join(dir, 'base');
  await buildIndex(SAMPLE, { index: base, encoderOptions: { threads: 0 } });
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Served {
  child: ChildProcess;
  url: string;
  /** Resolves when the child prints `line`. */
  printed(line: string): Promise<void>;
  lines: string[];
  exit: Promise<NodeJS.Signals | null>;
}

/** Starts the serving child over `path` (its index is served as `run`); resolves once it is ready. */
async function startServe(path: string, killAt: number, record: boolean): Promise<Served> {
  const child = spawn(process.execPath, [CHILD, String(killAt), record ? '1' : '0', path, '--port', '0', '--workers', '0', '--encoder-threads', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_API_KEY: undefined } });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const lines: string[] = [];
  const waiting: { line: string; resolve: () => void }[] = [];
  let url: (u: string) => void = () => {};
  const ready = new Promise<string>((r) => (url = r));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    if (l.startsWith('{')) {
      const o = JSON.parse(l) as { msg?: string; url?: string };
      if (o.msg === 'ready') url(o.url!);
    }
    for (const w of waiting.filter((x) => x.line === l)) w.resolve();
  });
  const exit = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_, signal) => r(signal)));
  const started = await Promise.race([ready, exit.then((s) => Promise.reject(new Error(`serve exited (${s}) before ready: ${err}`)))]);
  return { child, url: `${started}/v1/indexes/${path.split('/').at(-1)}`, lines, exit, printed: (line) => (lines.includes(line) ? Promise.resolve() : new Promise((resolve) => waiting.push({ line, resolve }))) };
}

/** One run over a fresh copy of the base index: returns the served child's lines and whether the cancelled write is in the folder. */
async function serveCrash(scenario: 'encoding' | 'commit', killAt: number, record = false): Promise<{ lines: string[]; bigVisible: boolean }> {
  const path = join(dir, `run${runs++}`);
  cpSync(base, path, { recursive: true });
  const s = await startServe(path, killAt, record);
  const acknowledged: string[] = [];
  const ack = async (docId: string): Promise<void> => {
    const r = await postJson(`${s.url}/documents`, { documents: [{ doc_id: docId, text: 'a short note about kites' }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    acknowledged.push(docId);
  };
  await ack('ack-1');
  let cancelled: 'none' | 'all' | 'either' = 'none';
  if (scenario === 'encoding') {
    const r = await postJson(`${s.url}/documents`, { documents: bigWrite, timeout_ms: 300 });
    assert.equal(r.status, 504, JSON.stringify(r.body));
    await ack('ack-2');
    s.child.kill('SIGKILL');
  } else {
    // The client gives up as the commit starts: the cancel reaches a server already committing.
    const client = new AbortController();
    const answer = fetch(`${s.url}/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ documents: bigWrite }), signal: client.signal }).catch(() => null);
    await Promise.race([s.printed('commitStart'), s.exit]);
    client.abort();
    await answer;
    if (killAt === -1) {
      // The commit finishes although its client is gone; then the server dies unanswered.
      await postJson(`${s.url}/documents/delete`, { doc_ids: ['no-such-id'] }); // waits its turn behind the write
      cancelled = 'all';
      s.child.kill('SIGKILL');
    } else cancelled = 'either';
  }
  assert.equal(await s.exit, 'SIGKILL');
  const what = `serve ${scenario} kill at ${killAt}`;
  const bigVisible = checkAfterCrash(path, { what, acknowledged, prefix: 'big-', count: BIG, cancelled, cli: true });
  rmSync(path, { recursive: true, force: true });
  return { lines: s.lines, bigVisible };
}

test('plait serve: a write past its deadline while encoding (504), a next write acknowledged, SIGKILL: nothing of it, both acknowledged writes', async () => {
  await serveCrash('encoding', -1);
});

test('plait serve: a write whose client leaves as its commit starts is finished; SIGKILL inside its transaction leaves all of it or none', async () => {
  const dry = await serveCrash('commit', -1, true);
  assert.ok(dry.bigVisible);
  const ops = dry.lines.filter((l) => l.startsWith('op ')).map((l) => {
    const [, n, fn, phase] = l.split(' ');
    return { n: Number(n), fn: fn!, phase: phase! };
  });
  const commitStart = ops.findIndex((o) => o.phase === 'commit');
  const rename = ops.findIndex((o, i) => i >= commitStart && o.fn === 'renameSync');
  assert.ok(commitStart > 0 && rename > commitStart + 3, `the transaction's operations: ${ops.map((o) => `${o.n} ${o.fn} ${o.phase}`).join(', ')}`);
  const points = [...new Set([ops[commitStart - 1]!.n, ops[commitStart]!.n, ops[commitStart + 3]!.n, ops[rename]!.n, ops.at(-1)!.n])];
  const seen = { without: 0, with: 0 };
  for (const k of points) {
    const r = await serveCrash('commit', k);
    if (r.bigVisible) seen.with++;
    else seen.without++;
  }
  assert.ok(seen.without > 0 && seen.with > 0, `states: ${JSON.stringify(seen)} at ${points.join(', ')}`);
  process.stderr.write(`# cancel-crash-serve: kills after operations ${points.join(', ')} of ${ops.length} (commit from ${ops[commitStart]!.n}): ${seen.without} without the write, ${seen.with} with it\n`);
});
