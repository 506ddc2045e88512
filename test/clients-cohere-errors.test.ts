/**
 * The errors a Cohere client must surface, through the clients test/server-clients.test.ts runs
 * for rankings: cohere-ai's v1 and v2 clients (this repository's cohere-ai, retries off with the
 * client's `maxRetries: 0`) and the Vercel AI SDK's `@ai-sdk/cohere` (`maxRetries: 0`), against the
 * real `plait serve` with an API key and a token budget: 401, 413 and 503 with Retry-After reach
 * the caller as the client's own error type (cohere-ai's UnauthorizedError, CohereError,
 * ServiceUnavailableError; the AI SDK's APICallError) carrying plait's message.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cohere, CohereClient, CohereClientV2, CohereError } from 'cohere-ai';
import { createCohere } from '@ai-sdk/cohere';
import type { PlaitServe } from './helpers/plait-serve.js';
import { API_KEY, DOCS, QUERY, assertAiSdkErrorDoors, documents, holdTokenBudget, startStrictServe } from './helpers/client-doors.js';

let strict: PlaitServe;

before(async () => {
  strict = await startStrictServe();
});
after(async () => {
  await strict?.stop();
});

type CohereErr = Error & { statusCode?: number; body?: { message?: string }; rawResponse?: { headers: Headers } };

test('cohere-ai v1 and v2: 401 UnauthorizedError, 413 CohereError, 503 ServiceUnavailableError with Retry-After, each with plait\'s message', async () => {
  const clients = [
    ['v1', (token: string) => new CohereClient({ token, environment: strict.url, maxRetries: 0 })],
    ['v2', (token: string) => new CohereClientV2({ token, environment: strict.url, maxRetries: 0 })],
  ] as const;
  for (const [version, make] of clients) {
    const call = (token: string, docs: string[]) => make(token).rerank({ model: 'rerank-v3.5', query: QUERY, documents: docs });
    await assert.rejects(call('not-the-key', DOCS), (e: CohereErr) => {
      assert.ok(e instanceof Cohere.UnauthorizedError, `${version}: ${e.constructor.name}`);
      assert.match(e.body!.message!, /API key/i);
      return true;
    });
    await assert.rejects(call(API_KEY, documents('many', 1001, 20)), (e: CohereErr) => {
      assert.ok(e instanceof CohereError, e.constructor.name);
      assert.equal(e.statusCode, 413);
      assert.match(e.body!.message!, /1001 items in documents; the limit is 1000/);
      return true;
    });
    const hold = await holdTokenBudget(strict, `cohere-${version}`);
    await assert.rejects(call(API_KEY, documents(`cohere-${version}-second`, 40, 320)), (e: CohereErr) => {
      assert.ok(e instanceof Cohere.ServiceUnavailableError, `${version}: ${e.constructor.name}`);
      assert.match(e.body!.message!, /Overloaded: .*try again later/);
      assert.ok(Number(e.rawResponse?.headers.get('retry-after')) >= 1, 'Retry-After reaches the error');
      return true;
    });
    assert.equal(await hold.done, 200);
  }
});

test('@ai-sdk/cohere: 401, 413, 503 with Retry-After as APICallError with plait\'s message', async () => {
  const model = createCohere({ apiKey: API_KEY, baseURL: `${strict.url}/v2` }).reranking('rerank-v3.5');
  const wrong = createCohere({ apiKey: 'not-the-key', baseURL: `${strict.url}/v2` }).reranking('rerank-v3.5');
  await assertAiSdkErrorDoors(strict, model, wrong, 'ai-sdk-cohere');
});

// A newcomer's Cohere client, pointed at plait for rerank, asked for Cohere's embed or chat: the 404
// reaches cohere-ai's NotFoundError with a message naming what plait serves (rerank, /v1/encode). It
// had been plait's bare "no route POST /v2/embed", in a shape whose top-level `message` cohere-ai lacked.
test('cohere-ai v1 and v2: embed and chat, which plait does not serve, are NotFoundError naming rerank and /v1/encode', async () => {
  const v1 = new CohereClient({ token: API_KEY, environment: strict.url, maxRetries: 0 });
  const v2 = new CohereClientV2({ token: API_KEY, environment: strict.url, maxRetries: 0 });
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['POST /v2/embed', () => v2.embed({ model: 'embed-v4.0', texts: [QUERY], inputType: 'search_query', embeddingTypes: ['float'] })],
    ['POST /v1/embed', () => v1.embed({ texts: [QUERY] })],
    ['POST /v2/chat', () => v2.chat({ model: 'command-a-03-2025', messages: [{ role: 'user', content: QUERY }] })],
  ];
  for (const [route, call] of calls) {
    await assert.rejects(call(), (e: CohereErr) => {
      assert.ok(e instanceof Cohere.NotFoundError, `${route}: ${e.constructor.name}`);
      assert.match(e.body!.message!, new RegExp(`no route ${route}; of Cohere's API plait serves rerank only \\(POST /v1/rerank, /v2/rerank`));
      assert.match(e.body!.message!, /token embeddings are POST \/v1\/encode/);
      return true;
    });
  }
});
