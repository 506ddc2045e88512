/**
 * README's client table ("Rerank fields and the lenient contract"), run as written: each client is
 * made from the expression in its row's "made as" column (`<url>` the real `plait serve`'s root,
 * `<key>` its PLAIT_API_KEY), with no Cohere or Together key in the environment, as a newcomer's
 * app has none. The table had given `createCohere({ baseURL: "<url>/v2" })`,
 * `environment: "<url>"` and `baseUrl: "<url>"` alone: copied, every client refused to start
 * (`LoadAPIKeyError: Cohere API key is missing`, `Please provide 'token'`, `CohereRerank requires
 * an API key`), and LangChain's `CohereRerank` without `model` threw "Model not specified".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CohereClient, CohereClientV2 } from 'cohere-ai';
import { rerank as aiRerank, type RerankingModel } from 'ai';
import { createCohere } from '@ai-sdk/cohere';
import { createTogetherAI } from '@ai-sdk/togetherai';
import { CohereRerank as LangChainCohereRerank } from '@langchain/cohere';
import { CohereRerank as LlamaIndexCohereRerank } from '@llamaindex/cohere';
import { TextNode } from '@llamaindex/core/schema';
import { API_KEY, DOCS, QUERY } from './helpers/client-doors.js';
import { startPlaitServe, type PlaitServe } from './helpers/plait-serve.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
/** The document DOCS ranks first for QUERY (the yeast one), by every door. */
const BEST = 1;

let server: PlaitServe;

before(async () => {
  for (const name of ['COHERE_API_KEY', 'CO_API_KEY', 'TOGETHER_API_KEY', 'TOGETHER_AI_API_KEY']) delete process.env[name];
  server = await startPlaitServe([], { PLAIT_API_KEY: API_KEY });
});

after(async () => {
  await server?.stop();
});

/** The table's rows: first column's text, and the code spans of its "made as" column. */
function clientRows(): { client: string; made: string[] }[] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('\n| client | ');
  assert.ok(start >= 0, 'README has the client table');
  const rows = text.slice(start + 1).split('\n').slice(2);
  const out: { client: string; made: string[] }[] = [];
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const cells = row.split(' | ');
    out.push({ client: cells[0]!, made: [...cells[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!) });
  }
  return out;
}

/** Evaluates one of README's expressions with the client constructors in scope. */
function make(expression: string, CohereRerank: unknown): unknown {
  const source = expression.replaceAll('<url>', server.url).replaceAll('<key>', API_KEY);
  const fn = new Function('CohereClient', 'CohereClientV2', 'createCohere', 'createTogetherAI', 'CohereRerank', `return ${source};`) as (...a: unknown[]) => unknown;
  return fn(CohereClient, CohereClientV2, createCohere, createTogetherAI, CohereRerank);
}

/** The index of the best document, asked through whatever `client` is. */
async function best(client: unknown): Promise<number> {
  if (client instanceof CohereClientV2) return (await client.rerank({ model: 'rerank-v3.5', query: QUERY, documents: DOCS, topN: 1 })).results[0]!.index;
  if (client instanceof CohereClient) return (await client.rerank({ query: QUERY, documents: DOCS, topN: 1 })).results[0]!.index;
  if (client instanceof LangChainCohereRerank) return (await client.rerank(DOCS, QUERY, { topN: 1 }))[0]!.index;
  if (client instanceof LlamaIndexCohereRerank) {
    const nodes = DOCS.map((text, i) => ({ node: new TextNode({ id_: `n${i}`, text }), score: 0 }));
    const out = await client.postprocessNodes(nodes, QUERY);
    return Number(out[0]!.node.id_.slice(1));
  }
  const provider = client as { reranking(id: string): RerankingModel };
  const { ranking } = await aiRerank({ model: provider.reranking('rerank-v3.5'), query: QUERY, documents: DOCS, topN: 1 });
  return ranking[0]!.originalIndex;
}

test("every client in README's table, made exactly as its row writes it, reranks against plait serve with an API key and none in the environment", async () => {
  const rows = clientRows().filter((r) => !r.made.some((m) => m.startsWith('POST ')));
  assert.deepEqual(
    rows.map((r) => r.client.replace(/^\| /, '')),
    [
      'cohere-ai `CohereClient` / `CohereClientV2`',
      'LangChain.js `CohereRerank` (`@langchain/cohere`), on either client',
      'Vercel AI SDK `rerank()` with `@ai-sdk/cohere`',
      'Vercel AI SDK `rerank()` with `@ai-sdk/togetherai` (2.x, for `ai` 6)',
      'LlamaIndex.TS `CohereRerank` (`@llamaindex/cohere`)',
    ],
  );
  for (const row of rows) {
    const CohereRerank = row.client.includes('@langchain/cohere') ? LangChainCohereRerank : LlamaIndexCohereRerank;
    const expressions = row.made.filter((m) => /^(new |create)/.test(m));
    assert.ok(expressions.length > 0, `${row.client}: an expression to make the client`);
    for (const expression of expressions) {
      let client: unknown;
      try {
        client = make(expression, CohereRerank);
        assert.equal(await best(client), BEST, `${row.client}: ${expression}`);
      } catch (e) {
        assert.fail(`${row.client}: ${expression} failed: ${(e as Error).message}`);
      }
    }
  }
});
