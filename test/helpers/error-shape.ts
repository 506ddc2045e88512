/**
 * plait's error fields read from any of the server's error shapes (http-errors.ts ErrorShape):
 * `{error: {code, message, details, request_id}}` (plait's, and Cohere's with its top-level
 * `message`), or TEI's `{error: "<message>", error_type, message, code, details, request_id}`
 * on POST /rerank. Tests that check a code on every route read it through this.
 */
export interface PlaitErrorFields {
  code: string;
  message: string;
  details?: Record<string, any>;
  request_id?: string;
}

export function plaitError(body: unknown): PlaitErrorFields {
  const b = (body ?? {}) as Record<string, any>;
  if (typeof b['error'] === 'string') return { code: b['code'], message: b['message'], details: b['details'], request_id: b['request_id'] };
  return b['error'] as PlaitErrorFields;
}
