/** `GET /v1/indexes` (what is served) and `GET /v1/indexes/{name}` (what `plait info --json` says, in snake_case). */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { kernelsStatus } from '../../index.js';
import { MANIFEST_FILE, listedFiles } from '../../format/manifest.js';
import { listedFileBytes } from '../../format/index-reader.js';
import { ERROR_SCHEMA } from '../http-errors.js';
import { snakeKeys } from '../snake-keys.js';
import type { Engine, IndexEntry } from '../engine.js';
import '../fastify-types.js';

/** The index's scoring threads (Engine.scoringWorkers, as /metrics and the ready line say them); absent on a cluster's coordinator. */
function scoringWorkers(engine: Engine, e: IndexEntry): { scoring_workers?: number } {
  const w = engine.scoringWorkers().find((x) => x.index === e.name);
  return w === undefined ? {} : { scoring_workers: w.workers };
}

/**
 * A cluster coordinator's shards that its counts lack (never heard since start): `degraded` and
 * `missing_shards`, as a search answer names them; nothing when every shard was heard. Before,
 * a coordinator started without a shard listed the others' counts as the cluster's.
 */
function unheard(e: IndexEntry): { degraded?: true; missing_shards?: number[] } {
  const missing = e.index.missingShards?.() ?? [];
  return missing.length === 0 ? {} : { degraded: true, missing_shards: missing };
}

function summary(engine: Engine, e: IndexEntry): Record<string, unknown> {
  const m = e.index.manifest;
  return {
    name: e.name,
    path: e.index.path,
    generation: e.generation,
    documents: m.counts.documents,
    passages: m.counts.passages,
    tokens: m.counts.tokens,
    model: m.model.name,
    dim: m.dim,
    nbits: m.nbits,
    default_mode: m.model.defaultMode,
    ...scoringWorkers(engine, e),
    ...unheard(e),
  };
}

/** The same figures as `plait info --json`: manifest, file sizes, bytes per token, active kernels. */
function info(engine: Engine, e: IndexEntry): Record<string, unknown> {
  const path = e.index.path;
  const m = e.index.manifest;
  // Sizes as the manifest lists them (the index checked them when it opened) and an in-place
  // document store's as it is now, as `plait info` reports.
  const files: Record<string, number> = {};
  for (const f of listedFiles(m)) files[f.name] = listedFileBytes(path, f);
  // A cluster's coordinator has no folder (path "nats:<name>"): its manifest's files are shard 0's.
  if (existsSync(join(path, MANIFEST_FILE))) files[MANIFEST_FILE] = statSync(join(path, MANIFEST_FILE)).size;
  const totalBytes = Object.values(files).reduce((a, b) => a + b, 0);
  const tokens = Math.max(1, m.counts.tokens);
  const perToken = m.segments.reduce((sum, g) => sum + g.codes.bytes + g.residuals.bytes, 0);
  return {
    name: e.name,
    generation: e.generation,
    path,
    manifest: snakeKeys(e.index.manifest),
    files,
    total_bytes: totalBytes,
    bytes_per_token: perToken / tokens,
    bytes_per_token_total: totalBytes / tokens,
    kernels: kernelsStatus().active,
    ...scoringWorkers(engine, e),
    ...unheard(e),
  };
}

const SUMMARY_SCHEMA = {
  type: 'object',
  required: ['name', 'path', 'generation', 'documents', 'passages', 'tokens', 'model', 'dim', 'nbits', 'default_mode'],
  properties: {
    name: { type: 'string' },
    path: { type: 'string' },
    generation: { type: 'string' },
    documents: { type: 'integer' },
    passages: { type: 'integer' },
    tokens: { type: 'integer' },
    model: { type: 'string' },
    dim: { type: 'integer' },
    // 1, 2, 4, 8, or 1.6 for a ternary index (TERNARY_NBITS)
    nbits: { type: 'number' },
    default_mode: { type: 'string' },
    scoring_workers: { type: 'integer', description: 'scoring worker threads this server runs for the index (plait serve --workers; 0: scored on the serving thread); absent on a cluster coordinator' },
    degraded: { type: 'boolean', description: 'a cluster coordinator: true when the counts lack some shards (missing_shards); absent otherwise' },
    missing_shards: { type: 'array', items: { type: 'integer' }, description: 'a cluster coordinator: the shards never heard since it started (their documents are not in the counts)' },
  },
} as const;

export const indexesRoutes: FastifyPluginAsync = async (app) => {
  const engine = app.engine;
  app.get(
    '/v1/indexes',
    { schema: { operationId: 'listIndexes', summary: 'The served indexes', tags: ['indexes'], response: { 200: { type: 'object', required: ['indexes'], properties: { indexes: { type: 'array', items: SUMMARY_SCHEMA } } }, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA } } },
    async () => ({ indexes: [...engine.indexes.values()].map((e) => summary(engine, e)) }),
  );
  app.get<{ Params: { name: string } }>(
    '/v1/indexes/:name',
    {
      schema: {
        operationId: 'getIndex',
        summary: 'One index: manifest, sizes on disk, bytes per token (as `plait info --json`)',
        tags: ['indexes'],
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        response: { 200: { type: 'object', additionalProperties: true }, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    async (request) => info(engine, engine.index(request.params.name)),
  );
};
