/**
 * `POST /v1/encode`: token embeddings of texts, as queries or documents. JSON by default (vectors as
 * arrays of numbers); with `Accept: application/msgpack` the reply is msgpack with each text's
 * vectors as one binary field of little-endian float32 (length × dim), readable without msgpackr:
 * `np.frombuffer(v, '<f4').reshape(length, dim)`.
 */
import type { FastifyPluginAsync } from 'fastify';
import { pack } from '../../util/msgpack.js';
import { PlaitError } from '../../errors/index.js';
import type { TextKind, TokenEmbeddings } from '../../index.js';
import { ERROR_SCHEMA } from '../http-errors.js';
import { runWork } from '../request-work.js';
import { estimateTokens } from '../request-cost.js';
import { checkBatch, checkText } from '../text-checks.js';
import '../fastify-types.js';

interface EncodeBody {
  texts: string[];
  kind?: TextKind;
  model?: string;
  timeout_ms?: number;
}

export const MSGPACK = 'application/msgpack';

function wantsMsgpack(accept: string | undefined): boolean {
  return accept !== undefined && /application\/(x-)?msgpack/i.test(accept);
}

function rows(e: TokenEmbeddings, dim: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < e.length; r++) out.push(Array.from(e.vectors.subarray(r * dim, (r + 1) * dim)));
  return out;
}

function littleEndianBytes(a: Float32Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  // Typed arrays use the platform's byte order; every platform Node ships on is little-endian.
  return Uint8Array.from(bytes);
}

const ENCODE_RESPONSE = {
  type: 'object',
  required: ['model', 'dim', 'kind', 'embeddings'],
  properties: {
    model: { type: 'string' },
    dim: { type: 'integer' },
    kind: { type: 'string' },
    embeddings: {
      type: 'array',
      items: {
        type: 'object',
        required: ['length', 'token_ids', 'vectors'],
        properties: {
          length: { type: 'integer', description: 'tokens kept (rows)' },
          token_ids: { type: 'array', items: { type: 'integer' } },
          vectors: { type: 'array', items: { type: 'array', items: { type: 'number' } }, description: 'length × dim, each row L2-normalised' },
        },
      },
    },
  },
} as const;

export const encodeRoutes: FastifyPluginAsync = async (app) => {
  const engine = app.engine;
  app.post<{ Body: EncodeBody }>(
    '/v1/encode',
    {
      config: { bodyKind: 'encode' },
      schema: {
        operationId: 'encode',
        summary: 'Token embeddings of texts (JSON, or msgpack with float32 binaries for Accept: application/msgpack)',
        tags: ['encode'],
        body: {
          type: 'object',
          required: ['texts'],
          additionalProperties: false,
          properties: {
            texts: { type: 'array', items: { type: 'string' }, description: 'at most maxEncodeTexts (413 beyond)' },
            kind: { type: 'string', enum: ['query', 'document'], description: 'default "query"' },
            model: { type: 'string', description: 'a served model name (default: the default reranker model)' },
            timeout_ms: { type: 'integer', minimum: 1 },
          },
        },
        response: {
          // Declared by media type: the msgpack answer (Accept: application/msgpack) was missing from the document.
          200: {
            description: 'the embeddings: JSON by default, msgpack with each text\'s vectors as little-endian float32 bytes for Accept: application/msgpack',
            content: {
              'application/json': { schema: ENCODE_RESPONSE },
              [MSGPACK]: { schema: { type: 'string', format: 'binary', description: 'msgpack map {model, dim, kind, dtype: "float32le", embeddings: [{length, token_ids, vectors: bin (length × dim float32le)}]}' } },
            },
          },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      checkBatch(b.texts.length, engine.options.maxEncodeTexts, 'texts', 'encode');
      if (b.texts.length === 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'texts is empty' });
      b.texts.forEach((t, i) => checkText(t, `texts[${i}]`));
      const kind = b.kind ?? 'query';
      const { embeddings, encoder } = await runWork(engine, reply, { timeoutMs: b.timeout_ms, tokens: estimateTokens(b.texts) }, (signal) => engine.encode(b.model, b.texts, kind, signal));
      const dim = encoder.info.dim;
      if (wantsMsgpack(request.headers.accept)) {
        const body = pack({
          model: encoder.info.name,
          dim,
          kind,
          dtype: 'float32le',
          embeddings: embeddings.map((e) => ({ length: e.length, token_ids: Array.from(e.tokenIds), vectors: littleEndianBytes(e.vectors.subarray(0, e.length * dim)) })),
        });
        return reply.type(MSGPACK).send(body);
      }
      return { model: encoder.info.name, dim, kind, embeddings: embeddings.map((e) => ({ length: e.length, token_ids: Array.from(e.tokenIds), vectors: rows(e, dim) })) };
    },
  );
};
