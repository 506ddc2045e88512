/**
 * A route asked without its version prefix (`GET /indexes` for `/v1/indexes`), with another
 * (`/v3/encode`), or with one on an unversioned route (`/v1/health`) is answered 404 NOT_FOUND
 * with a hint naming the route it meant, method included; it had been a bare "no route GET
 * /indexes". Every route of the server's own OpenAPI document is tried, so a route added later
 * is covered too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../src/server/index.js';
import { serveNothing } from './helpers/server-fixture.js';

let server: RunningServer;
before(async () => {
  server = await serveNothing();
});
after(async () => {
  await server?.close();
});

/** `method path` answered: its status and plait's error body. */
async function ask(method: string, path: string): Promise<{ status: number; code: string; message: string }> {
  const r = await fetch(`${server.url}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) });
  const body = (await r.json()) as { error?: { code: string; message: string } };
  return { status: r.status, code: body.error?.code ?? '', message: body.error?.message ?? JSON.stringify(body) };
}

test('every route of the OpenAPI document, asked without its version prefix or with one it does not have, is a 404 naming the route', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const routes = new Set(Object.keys(doc.paths));
  let tried = 0;
  for (const [route, operations] of Object.entries(doc.paths)) {
    const real = route.replace('{name}', 'books');
    const versioned = /^\/v\d+\//.test(route);
    const asked = versioned ? route.replace(/^\/v\d+/, '') : `/v1${route}`;
    // /v1/rerank and /rerank are both routes (Cohere's and TEI's shapes): nothing to hint there.
    if (routes.has(asked)) continue;
    for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
      const path = asked.replace('{name}', 'books');
      const r = await ask(method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.code, 'NOT_FOUND', `${method} ${path}`);
      const where = versioned ? "the API's routes are versioned" : 'this route has no version prefix';
      assert.ok(r.message.startsWith(`Not found: no route ${method} ${path}; ${where}: ${method} ${real}`), `${method} ${path}: ${r.message}`);
      tried++;
    }
  }
  assert.ok(tried >= 10, `${tried} routes tried`);
});

test('another method or another version names the route as it is served; an unknown path keeps the bare 404', async () => {
  const search = await ask('GET', '/indexes/books/search');
  assert.match(search.message, /^Not found: no route GET \/indexes\/books\/search; the API's routes are versioned: POST \/v1\/indexes\/books\/search with a JSON body/);
  const v3 = await ask('GET', '/v3/indexes/');
  assert.match(v3.message, /^Not found: no route GET \/v3\/indexes\/; the API's routes are versioned: GET \/v1\/indexes \(/);
  const unknown = await ask('GET', '/nothing/here');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.message, 'Not found: no route GET /nothing/here');
});
