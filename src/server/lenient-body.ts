/**
 * The request contract's lenient half, applied before schema validation (a Fastify `preValidation`
 * hook), so that the schemas stay strict about what matters:
 *  - `null` is absent for every optional top-level field of every route (the Cohere SDKs send
 *    `"max_chunks_per_doc": null` and `"top_n": null` for options the caller left unset, and
 *    LangChain's CohereRerank failed on every call). A null in a required field is still refused;
 *    on a lenient route an unknown field sent as null is dropped without being named;
 *  - on the routes that imitate another API (Cohere v1/v2, Jina, TEI: `config.lenient`), a field
 *    the route does not know is accepted and ignored, as those APIs do (RAG frameworks send
 *    `truncate_prompt_tokens`, `truncation_side`, …), and named back in the `x-plait-ignored-fields`
 *    response header (and Cohere's `meta.warnings`). plait's own routes (search, explain, encode,
 *    indexes) keep refusing unknown fields: there a typo such as `topk` would silently change the
 *    answer, and no foreign client needs the leniency.
 * Fields the route uses keep their types: a string where an integer is needed is a 400.
 */
import type { FastifyRequest } from 'fastify';

/** The response header that lists the request's ignored fields, comma-separated. */
export const IGNORED_FIELDS_HEADER = 'x-plait-ignored-fields';

interface BodySchema {
  properties?: Record<string, unknown>;
  required?: readonly string[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Unknown top-level body fields are ignored (and reported) instead of refused. */
    lenient?: boolean;
  }
  interface FastifyRequest {
    /** Top-level body fields this request sent that the route ignored (lenient routes). */
    ignoredFields?: string[];
  }
}

/**
 * Drops nulls from optional fields and, when `lenient`, unknown fields from `body` (in place).
 * @returns the unknown fields dropped, in the order sent (empty when none or when not lenient).
 */
export function relaxBody(body: unknown, schema: BodySchema | undefined, lenient: boolean): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || schema?.properties === undefined) return [];
  const b = body as Record<string, unknown>;
  const required = new Set(schema.required ?? []);
  const ignored: string[] = [];
  for (const key of Object.keys(b)) {
    const known = Object.hasOwn(schema.properties, key);
    if (known && b[key] === null && !required.has(key)) delete b[key];
    // An unknown field sent as null is absent too: nothing was asked that is ignored (a Cohere SDK's
    // unset v1 option, `"max_chunks_per_doc": null`, sent to v2, which has no such field).
    else if (!known && lenient && b[key] === null) delete b[key];
    else if (!known && lenient) {
      ignored.push(key);
      delete b[key];
    }
  }
  return ignored;
}

/** The preValidation hook: relaxes the body by the route's schema and records what it ignored. */
export async function relaxRequestBody(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema?.body as BodySchema | undefined;
  const ignored = relaxBody(request.body, schema, request.routeOptions.config.lenient === true);
  if (ignored.length > 0) request.ignoredFields = ignored;
}

/** A header value: the names JSON-escaped where needed (a header cannot carry control characters), at most 1 KB. */
export function ignoredFieldsHeader(fields: readonly string[]): string {
  const shown = fields.map((f) => (/^[\x21-\x7e]+$/.test(f) && !f.includes(',') ? f : JSON.stringify(f).replace(/[^\x20-\x7e]/g, '?')));
  const value = shown.join(', ');
  return value.length <= 1024 ? value : `${value.slice(0, 1020)}, …`.replace(/[^\x20-\x7e]/g, '.');
}
