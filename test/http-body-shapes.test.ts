/**
 * Every route of the OpenAPI document the server publishes (GET /openapi.json, so a new route is
 * probed without anyone remembering to add it) is sent JSON bodies of the wrong shape: a whole body
 * that is no object (an array, a number, a string, null, true), and each field of the route's body
 * schema, one at a time inside an otherwise valid body, set to values its schema does not allow (a
 * number for a string, a string for a number, null where null is not allowed, an array for an
 * object), and each field of the objects nested in it (a document of `documents`, `rewrite.rm3`,
 * `highlights`, an item of `min_sequences`) likewise. Each answer is a 4xx (never a 500) with a stable
 * code (one of HTTP_STATUS's) naming the field as the client wrote it, in snake_case — never the
 * library's camelCase name for it.
 *
 * Found by this probe (issue serverargs-15): `{"documents": [{"doc_id": 1.5, …}]}` answered 400
 * naming `documents[0].docId`, and `"rewrite": {"rm3": {"fb_docs": 0}}` naming `rm3.fbDocs`: the
 * library's names, not the client's. No route answered 500.
 *
 * server-fuzz.test.ts throws random values at a hand-kept list of routes and fields and asks only
 * "no 500"; this one walks the published schemas, so it misses no route or field, and also asks that
 * the answer name the field as sent.
 *
 * A real index (two documents, the bundled model) and a real reranker serve the routes, so that a
 * body wrongly let through meets real work rather than a stand-in. ~300 requests: ~2 s of CPU.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HTTP_STATUS } from '../src/server/index.js';
import { postJson, servedCorpus, type ServedCorpus } from './helpers/server-fixture.js';

interface Schema {
  type?: string | string[];
  nullable?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
}
interface Operation {
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

interface Case {
  body: unknown;
  /** The field at fault, as the client wrote it (the leaf name), or 'body'. */
  field: string;
}

/** A valid body for each route that takes one: each wrong field goes into it, so that field is the one fault. */
const VALID_BODY: Readonly<Record<string, Record<string, unknown>>> = {
  'POST /v1/indexes/{name}/search': { query: 'bread' },
  'POST /v1/indexes/{name}/explain': { query: 'bread', doc_id: 'a' },
  'POST /v1/indexes/{name}/documents': { documents: [{ doc_id: 'c', text: 'new text' }] },
  'POST /v1/indexes/{name}/documents/delete': { doc_ids: ['absent'] },
  'POST /v1/rerank': { query: 'bread', documents: ['a'] },
  'POST /v2/rerank': { model: 'plait-default', query: 'bread', documents: ['a'] },
  'POST /rerank': { query: 'bread', texts: ['a'] },
  'POST /v1/encode': { texts: ['a'] },
};

/** A valid object for each field that holds objects (or an array of them), by the field's name: a nested field goes into it. */
const VALID_NESTED: Readonly<Record<string, Record<string, unknown>>> = {
  documents: { doc_id: 'c', text: 'new text' },
  min_sequences: { shard: 0, sequence: 0 },
  rewrite: {},
  rm3: {},
  prf: {},
  highlights: {},
};

/**
 * Values of the right type that the field's domain refuses (a fraction for an id, a feedback
 * parameter out of its range): the library checks some of these, and its refusal had named its own
 * option, not the client's field. Each with the field its answer must name.
 */
const OUT_OF_DOMAIN: Readonly<Record<string, readonly Case[]>> = {
  'POST /v1/indexes/{name}/documents': [
    { body: { documents: [{ doc_id: 1.5, text: 'x' }] }, field: 'doc_id' },
    { body: { documents: [{ doc_id: 2 ** 60, text: 'x' }] }, field: 'doc_id' },
    { body: { documents: [{ doc_id: ' padded', text: 'x' }] }, field: 'doc_id' },
  ],
  'POST /v1/indexes/{name}/documents/delete': [{ body: { doc_ids: [1.5] }, field: 'doc_ids' }],
  'POST /v1/indexes/{name}/search': [
    { body: { query: 'bread', rewrite: { rm3: { fb_docs: 0 } } }, field: 'fb_docs' },
    { body: { query: 'bread', rewrite: { rm3: { fb_terms: 2.5 } } }, field: 'fb_terms' },
    { body: { query: 'bread', rewrite: { rm3: { original_query_weight: 2 } } }, field: 'original_query_weight' },
    { body: { query: 'bread', mode: 'late', rewrite: { prf: { fb_embeddings: 1000 } } }, field: 'fb_embeddings' },
    { body: { query: 'bread', mode: 'late', rewrite: { prf: { beta: -1 } } }, field: 'beta' },
  ],
  'POST /v1/indexes/{name}/explain': [{ body: { query: 'bread', doc_id: 'a', rewrite: { rm3: { fb_docs: 0 } } }, field: 'fb_docs' }],
};

/** Candidate wrong values, in order; a field gets the first few its schema does not allow. */
const POOL: readonly unknown[] = [null, 42, 'x', [], {}, true, 1.5];
const PER_FIELD = 2;
const PER_NESTED_FIELD = 2;

/** Whether `v` has a type `s` allows (its top level only: items and properties are probed one at a time). */
function fits(s: Schema, v: unknown): boolean {
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives !== undefined) return (v === null && s.nullable === true) || alternatives.some((a) => fits(a, v));
  if (v === null) return s.nullable === true || [s.type ?? []].flat().includes('null');
  if (s.enum !== undefined && !s.enum.includes(v)) return false;
  const types = [s.type ?? []].flat();
  if (types.length === 0) return true;
  return types.some((t) =>
    t === 'integer' ? Number.isInteger(v)
    : t === 'array' ? Array.isArray(v)
    : t === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v)
    : typeof v === t,
  );
}

function wrongFor(s: Schema, n: number): unknown[] {
  return POOL.filter((v) => !fits(s, v)).slice(0, n);
}

/** The object schema(s) inside `s` (itself, an anyOf branch, or its items'), with properties to probe. */
function objectBranches(s: Schema): Record<string, Schema>[] {
  const out: Record<string, Schema>[] = [];
  for (const b of [s, ...(s.anyOf ?? s.oneOf ?? [])]) if (b.properties !== undefined && Object.keys(b.properties).length > 0) out.push(b.properties);
  return out;
}

/** The wrong bodies for one route: the whole body, each field, each nested field. */
function casesFor(schema: Schema, valid: Record<string, unknown>): Case[] {
  const cases: Case[] = [[], 42, 'x', null, true].map((body) => ({ body, field: 'body' }));
  for (const [k, s] of Object.entries(schema.properties ?? {})) {
    for (const w of wrongFor(s, PER_FIELD)) cases.push({ body: { ...valid, [k]: w }, field: k });
    if (s.items !== undefined) for (const w of wrongFor(s.items, 2)) cases.push({ body: { ...valid, [k]: [w] }, field: k });
    const nestedBase = VALID_NESTED[k] ?? {};
    for (const props of [...objectBranches(s), ...(s.items === undefined ? [] : objectBranches(s.items))]) {
      for (const [p, ps] of Object.entries(props)) {
        for (const w of wrongFor(ps, PER_NESTED_FIELD)) {
          const inner = { ...nestedBase, [p]: w };
          cases.push({ body: { ...valid, [k]: s.items === undefined ? inner : [inner] }, field: p });
          // One level further: rewrite.rm3.fb_docs, rewrite.prf.beta.
          for (const deeper of objectBranches(ps)) {
            for (const [q, qs] of Object.entries(deeper)) {
              for (const w2 of wrongFor(qs, 1)) cases.push({ body: { ...valid, [k]: { ...nestedBase, [p]: { ...(VALID_NESTED[p] ?? {}), [q]: w2 } } }, field: q });
            }
          }
        }
      }
    }
  }
  return cases;
}

function camel(k: string): string {
  return k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

let served: ServedCorpus;
let paths: Record<string, Record<string, Operation>>;

before(async () => {
  served = await servedCorpus('plait-body-shapes-', 'sample', ['{"doc_id":"a","text":"bread rises with yeast","metadata":{"year":2020}}', '{"doc_id":"b","text":"rivers flow to the sea","metadata":{"year":2021}}'], 0);
  const res = await fetch(`${served.server.url}/openapi.json`);
  assert.equal(res.status, 200);
  paths = ((await res.json()) as { paths: Record<string, Record<string, Operation>> }).paths;
});

after(async () => {
  await served?.dispose();
});

test('every route of /openapi.json answers a JSON body of the wrong shape with a 4xx and a stable code naming the field in snake_case, never a 500', async (t) => {
  const failures: string[] = [];
  const probed: string[] = [];
  let requests = 0;
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (schema === undefined) continue;
      const route = `${method.toUpperCase()} ${path}`;
      const valid = VALID_BODY[route];
      if (valid === undefined) {
        failures.push(`${route}: takes a JSON body but has no valid body in VALID_BODY to probe it with`);
        continue;
      }
      probed.push(route);
      // The valid body itself is accepted: a probe whose base were refused would prove nothing.
      const ok = await postJson(`${served.server.url}${path.replace('{name}', 'sample')}`, valid);
      if (ok.status >= 400) failures.push(`${route} ${JSON.stringify(valid)}: the valid body → ${ok.status} ${JSON.stringify(ok.body)}`);
      for (const { body, field } of [...casesFor(schema, valid), ...(OUT_OF_DOMAIN[route] ?? [])]) {
        requests++;
        // Sent as JSON text (postJson would send a string body as it is).
        const r = await postJson(`${served.server.url}${path.replace('{name}', 'sample')}`, JSON.stringify(body));
        // The TEI-shaped route (/rerank) answers {error, error_type}; the others {error: {code, message, details}}.
        const error = (r.body as { error?: unknown } | null)?.error;
        const message = typeof error === 'string' ? error : String((error as { message?: unknown } | undefined)?.message ?? '');
        // TEI's shape carries plait's code at the top level beside error_type.
        const code = typeof error === 'string' ? (r.body as { code?: unknown }).code : (error as { code?: unknown } | undefined)?.code;
        const what = `${route} ${JSON.stringify(body)} → ${r.status} ${String(code)} ${message.slice(0, 160)}`;
        if (r.status < 400 || r.status >= 500) failures.push(`not a 4xx: ${what}`);
        else if (!(typeof code === 'string' && Object.hasOwn(HTTP_STATUS, code))) failures.push(`no stable code: ${what}`);
        else if (!message.includes(field)) failures.push(`does not name ${field}: ${what}`);
        else if (camel(field) !== field && message.includes(camel(field))) failures.push(`names the library's ${camel(field)}, not ${field}: ${what}`);
      }
    }
  }
  t.diagnostic(`${requests} wrong bodies over ${probed.length} routes`);
  assert.ok(probed.length >= 8 && requests > 150, `the document lists the routes with bodies (${probed.join(', ')}; ${requests} requests)`);
  assert.deepEqual(failures, [], `${failures.length} answers were wrong:\n${failures.join('\n')}`);
});
