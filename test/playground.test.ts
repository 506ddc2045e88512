/**
 * The explain route over real HTTP (equal to the library, contributions summing to the score),
 * and the playground page end to end in a real browser: playwright-core driving Debian's
 * chromium (installed by .ci/run) against `plait serve` on an ephemeral loopback port — type a
 * query, check the top hit, open its explanation, find a highlighted token, hover a query token,
 * rerank a pasted list; a screenshot is saved in the test's temporary folder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

const CHROMIUM = process.env['PLAIT_CHROMIUM'] ?? '/usr/bin/chromium';
let sample: SampleIndex;
let server: RunningServer;
let url: string;

before(async () => {
  sample = await buildSample('plait-playground-');
  server = await serve(sample);
  url = server.url;
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

test('POST /v1/indexes/{name}/explain equals the library and sums to the search score', async () => {
  const query = 'why does bread dough rise with yeast';
  const r = await postJson(`${url}/v1/indexes/sample/explain`, { query, doc_id: 'bread-yeast', mode: 'hybrid' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const lib = await sample.index.explain(query, 'bread-yeast', { mode: 'hybrid' });
  assert.equal(r.body.doc_id, 'bread-yeast');
  assert.equal(r.body.pid, lib.pid);
  assert.ok(Math.abs(r.body.late_score - lib.lateScore) < 1e-9);
  const sum = (r.body.tokens as Array<{ contribution: number }>).reduce((s, t) => s + t.contribution, 0);
  assert.ok(Math.abs(sum - r.body.late_score) < 1e-6);
  assert.deepEqual(
    r.body.tokens.map((t: { query: { text: string } }) => t.query.text),
    lib.tokens.map((t) => t.query.text),
  );
  assert.ok(r.body.bm25.terms.some((t: { term: string; tf: number }) => t.term === 'yeast' && t.tf === 2));
  assert.equal(r.body.fusion.rank, 1);
  assert.ok('late_share' in r.body.fusion && 'bm25_share' in r.body.fusion);
  // Bad requests are 4xx with codes.
  assert.equal((await postJson(`${url}/v1/indexes/sample/explain`, { query })).status, 400);
  assert.equal((await postJson(`${url}/v1/indexes/sample/explain`, { query, doc_id: 'nope' })).body.error.code, 'DOCUMENT_NOT_FOUND');
  assert.equal((await postJson(`${url}/v1/indexes/nope/explain`, { query, doc_id: 'x' })).status, 404);
  assert.equal((await postJson(`${url}/v1/indexes/sample/explain`, { query, pid: 'x' })).status, 400);
});

test('GET / serves the playground offline (no external URL) with its script and style', async () => {
  const html = await (await fetch(`${url}/`)).text();
  assert.match(html, /<title>plait playground<\/title>/);
  assert.doesNotMatch(html, /https?:\/\//, 'no CDN or external asset');
  const js = await fetch(`${url}/playground.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.doesNotMatch(await js.text(), /https?:\/\//);
  assert.equal((await fetch(`${url}/playground.css`)).status, 200);
  // The icon a browser asks for on its own is served, not a 404.
  const icon = await fetch(`${url}/favicon.ico`);
  assert.equal(icon.status, 200);
  assert.match(icon.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  assert.match(await icon.text(), /^<svg /);
});

test('the playground in a real browser: search, explanation with highlighted tokens, rerank', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env['CI'] !== undefined) assert.fail(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for this test`);
    t.skip(`SKIPPED LOUDLY: no ${CHROMIUM} (apt-get install chromium); CI fails here instead`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${url}/`);
    await page.waitForSelector('#index option[value="sample"]', { state: 'attached' });
    // Keyboard: type the query and press Enter.
    await page.fill('#query', 'why does bread dough rise with yeast');
    await page.press('#query', 'Enter');
    await page.waitForSelector('#hits li');
    const first = await page.textContent('#hits li:first-child .hit-title');
    assert.match(first ?? '', /^1\. Why bread rises/);
    assert.match((await page.textContent('#search-status')) ?? '', /results\..*ms/);
    // Open the explanation with the keyboard (focus the hit, Enter).
    await page.focus('#hits li:first-child');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#explanation mark.tok');
    const marks = await page.$$eval('#explanation mark.tok', (ms) => ms.map((m) => m.textContent));
    assert.ok(marks.includes('bread'), `highlighted: ${marks.join('|')}`);
    // Hover a query token: its match is outlined and described.
    const chip = page.locator('.qtok', { hasText: /^bread$/ });
    await chip.hover();
    await page.waitForSelector('#explanation mark.tok.active');
    assert.equal(await page.textContent('#explanation mark.tok.active'), 'bread');
    assert.match((await page.textContent('.match-info')) ?? '', /“bread” → “bread”: similarity 0\.\d+/);
    assert.match((await page.textContent('table.parts')) ?? '', /BM25.*yeast/);
    await page.screenshot({ path: join(sample.dir, 'playground.png'), fullPage: true });
    if (process.env['PLAIT_SCREENSHOT'] !== undefined) await page.screenshot({ path: process.env['PLAIT_SCREENSHOT'], fullPage: true });
    assert.ok(existsSync(join(sample.dir, 'playground.png')));
    // The rerank panel.
    await page.click('#tab-rerank');
    await page.fill('#rerank-query', 'how do wings make lift');
    await page.fill('#rerank-docs', 'Stock markets fell sharply on Monday.\nAn aircraft wing deflects air downward, and the reaction lifts the plane.');
    await page.click('#rerank-form button[type=submit]');
    await page.waitForSelector('#rerank-results li');
    assert.match((await page.textContent('#rerank-results li:first-child .hit-title')) ?? '', /1\. \(was 2\)/);
    // An error after results: the old hits go, and a pipeline error's caret diagram keeps its lines.
    await page.click('#tab-search');
    await page.fill('#query', 'why does bread dough rise with yeast');
    await page.press('#query', 'Enter');
    await page.waitForSelector('#hits li');
    await page.fill('#pipeline', 'bm25:100 > nonsense:10');
    await page.press('#query', 'Enter');
    await page.waitForSelector('#search-status.error');
    assert.equal(await page.locator('#hits li').count(), 0, 'no hits of the earlier query under the error');
    const status = (await page.evaluate("document.getElementById('search-status').innerText")) as string;
    assert.ok(status.split('\n').length >= 2 && /\^/.test(status), `the caret diagram keeps its lines: ${JSON.stringify(status)}`);
    // A query with no letter or digit: no hits, and the reason (the same rule as the CLI and library).
    await page.fill('#pipeline', '');
    await page.fill('#query', '???');
    await page.press('#query', 'Enter');
    // A locator waits without evaluating a string in the page (the playground's CSP forbids eval).
    await page.locator('#search-status', { hasText: /no letter or digit/ }).waitFor();
    assert.equal(await page.locator('#hits li').count(), 0);
    // Narrow window: one column, nothing wider than the viewport.
    await page.setViewportSize({ width: 420, height: 900 });
    await page.click('#tab-search');
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(overflow <= 0, `page overflows a narrow window by ${overflow}px`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
