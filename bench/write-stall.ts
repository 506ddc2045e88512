/**
 * How long a delete or a compaction stalls the process that calls it (issue: writes freeze the
 * caller). On a copy of a built index (e.g. scifact, ~24k passages, the bundled model):
 *  - library: `PlaitIndex.delete(500 ids)`, `delete({ filter })` (500 more by a doc_id `$in`),
 *    `compact()` — each op's wall time and the event loop's max delay during it
 *    (perf_hooks.monitorEventLoopDelay, 1 ms resolution; a timer that cannot run is a request
 *    that cannot be answered);
 *  - server: the real `plait serve` in a child process, polled on GET /health every 10 ms from
 *    this process while it deletes 500 ids and 500 by filter over HTTP, and while another process
 *    (`plait compact`) compacts the folder it serves (the server refreshes to the new generation):
 *    the /health poll's max latency during each write.
 * Run: `node dist/bench/write-stall.js <built index> [work dir]` (the index is copied, never changed).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openIndex } from '../src/search/plait-index.js';
import { isMain, machine } from './common.js';
import { exited, lines } from '../test/helpers/plait-serve.js';

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));

const round = (_k: string, v: unknown): unknown => (typeof v === 'number' ? Math.round(v * 10) / 10 : v);

/** Prints one figure as it is measured (a run on a loaded machine takes minutes). */
function show<T>(key: string, value: T): T {
  process.stdout.write(`${key} ${JSON.stringify(value, round)}\n`);
  return value;
}

/** The event loop's max delay (ms) and the wall time (ms) of `op`. */
async function stall<T>(op: () => Promise<T>): Promise<{ maxDelayMs: number; wallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // The histogram samples on a libuv timer: it must be armed before the op and fire after it.
  await new Promise((r) => setTimeout(r, 5));
  const t = performance.now();
  await op();
  const wallMs = performance.now() - t;
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  return { maxDelayMs: h.max / 1e6, wallMs };
}

/** Polls `url` every 10 ms while `op` runs; the longest answer (ms) and the wall time of op. */
async function polled(url: string, op: () => Promise<unknown>): Promise<{ maxHealthMs: number; polls: number; wallMs: number }> {
  let running = true;
  let max = 0;
  let polls = 0;
  const poll = (async () => {
    while (running) {
      const t = performance.now();
      const r = await fetch(url);
      await r.text();
      max = Math.max(max, performance.now() - t);
      polls++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const t = performance.now();
  await op();
  const wallMs = performance.now() - t;
  running = false;
  await poll;
  return { maxHealthMs: max, polls, wallMs };
}

/** The first 2,000 docIds of the built index, in build order. */
function firstIds(base: string): string[] {
  const db = new Database(join(base, 'docs.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT doc_id FROM documents ORDER BY doc_rowid LIMIT 2000').all() as { doc_id: string }[]).map((r) => r.doc_id);
  } finally {
    db.close();
  }
}

async function library(base: string, work: string, ids: readonly string[], out: Record<string, unknown>): Promise<void> {
  const lib = join(work, 'lib');
  cpSync(base, lib, { recursive: true });
  const index = await openIndex(lib);
  out['passages'] = index.manifest.counts.passages;
  out['documents'] = index.manifest.counts.documents;
  out['libDelete500'] = show('libDelete500', await stall(() => index.delete(ids.slice(0, 500))));
  out['libFilterDelete500'] = show('libFilterDelete500', await stall(() => index.delete({ filter: { doc_id: { $in: ids.slice(500, 1000) } } })));
  out['libCompact'] = show('libCompact', await stall(() => index.compact()));
  await index.close();
  rmSync(lib, { recursive: true, force: true });
}

/** `plait serve <index> --port 0 --workers 1` under node flags `nodeArgs`, once it logged "ready". */
async function serveWith(nodeArgs: string[], index: string): Promise<{ url: string; stop: () => Promise<unknown> }> {
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', index, '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PLAIT_API_KEY: undefined } });
  const exit = exited(child);
  const ready = await Promise.race([lines(child)((o: { msg?: string }) => o.msg === 'ready'), exit.then((e) => Promise.reject(new Error(`plait serve exited: ${JSON.stringify(e)}`)))]);
  return { url: ready.url as string, stop: () => (child.kill('SIGTERM'), exit) };
}

export async function runWriteStall(base: string, work: string): Promise<void> {
  process.stdout.write(`${JSON.stringify(machine())}\n`);
  const ids = firstIds(base);
  const out: Record<string, unknown> = {};
  // Library (WRITE_STALL_SKIP_LIBRARY=1: the server only).
  if (process.env['WRITE_STALL_SKIP_LIBRARY'] !== '1') await library(base, work, ids, out);
  // Server.
  const srv = join(work, 'srv');
  cpSync(base, srv, { recursive: true });
  // WRITE_STALL_SERVE_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=…`, space-separated) profiles the server.
  const s = await serveWith((process.env['WRITE_STALL_SERVE_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''), srv);
  try {
    const name = 'srv';
    const health = `${s.url}/health`;
    const post = async (body: unknown): Promise<void> => {
      const r = await fetch(`${s.url}/v1/indexes/${name}/documents/delete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (r.status !== 200) throw new Error(`delete: ${r.status} ${await r.text()}`);
    };
    out['serveDelete500'] = show('serveDelete500', await polled(health, () => post({ doc_ids: ids.slice(1000, 1500) })));
    out['serveFilterDelete500'] = show('serveFilterDelete500', await polled(health, () => post({ filter: { doc_id: { $in: ids.slice(1500, 2000) } } })));
    const passages = async (): Promise<number> => ((await (await fetch(`${s.url}/v1/indexes/${name}`)).json()) as { manifest: { counts: { passages: number } } }).manifest.counts.passages;
    const before = await passages();
    out['serveExternalCompact'] = show('serveExternalCompact', await polled(health, async () => {
      const c = spawn(process.execPath, [BIN, 'compact', srv, '-q'], { stdio: 'inherit' });
      await new Promise((r) => c.once('exit', r));
      // Until the server serves the compacted generation (its refresh is the stall looked for): fewer passages.
      for (;;) {
        if ((await passages()) < before) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }));
  } finally {
    await s.stop();
    rmSync(srv, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(out, round)}\n`);
}

if (isMain(import.meta.url)) {
  const base = process.argv[2];
  if (base === undefined) throw new Error('usage: write-stall <built index> [work dir]');
  const work = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'plait-write-stall-'));
  await runWriteStall(base, work);
}
