/**
 * The access line: one JSON log line a request, `"msg":"request completed"`, written when it is
 * answered, whichever way it is answered — by a route (app.ts's onResponse hook) or straight to the
 * socket when its body did not arrive in time (receive-timeout.ts, 408). Its fields: method, URL as
 * sent (a search's query travels in its body, never logged; a GET's query string is part of the
 * URL), matched route, status, time in ms, the client's address, and the `x-request-id` a proxy sent
 * (`clientRequestId`; the line's own `reqId` is the server's, which every reply carries back). No
 * header value but that id is logged: never Authorization.
 */
import type { FastifyRequest } from 'fastify';
import { SERVER_DEFAULTS } from '../config/defaults.js';

/** The message of every access line: what an operator filters on. */
export const ACCESS_LINE_MESSAGE = 'request completed';

/** A proxy's request id (nginx `$request_id`, Envoy's, a client's) as the access line carries it: printable ASCII, at most 128 characters. */
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Longest query-string name kept in the line: one character under the shortest API key, so no name kept can be a key. */
const MAX_LOGGED_PARAM_NAME = SERVER_DEFAULTS.minApiKeyChars - 1;

/**
 * The URL as the access line carries it: the path as sent, and of a query string only the names of
 * its parameters, each value `REDACTED` (a name longer than MAX_LOGGED_PARAM_NAME or holding more
 * than letters, digits, `_`, `-`, `.` is `REDACTED` too). No route reads a query string, so its
 * values serve no line; but a client that sends its key there — `?api_key=…`, `?key=…`, as some
 * APIs take it — had it written verbatim into the log (`"url":"/v1/indexes?api_key=<the key>"`),
 * and it was a valid key that the server then refused (401): README promises keys are never logged.
 */
export function loggedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url.slice(q + 1).split('&').filter((p) => p !== '');
  const redacted = params.map((p) => {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    if (name.length > MAX_LOGGED_PARAM_NAME || !/^[A-Za-z0-9_.-]+$/.test(name)) return 'REDACTED';
    return eq < 0 ? name : `${name}=REDACTED`;
  });
  return `${url.slice(0, q)}?${redacted.join('&')}`;
}

/**
 * The fields of one request's access line.
 * @param route the matched route's pattern, or 'unmatched'
 * @param elapsedMs time since the request arrived, in ms (rounded to µs in the line)
 */
export function accessLine(request: FastifyRequest, route: string, statusCode: number, elapsedMs: number): Record<string, unknown> {
  const sent = request.headers['x-request-id'];
  const clientRequestId = typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : undefined;
  return {
    // Flat fields: Fastify's logger serialises `req` and `res` keys as raw Node objects.
    method: request.method,
    url: loggedUrl(request.url),
    route,
    statusCode,
    remoteAddress: request.ip,
    responseTime: Math.round(elapsedMs * 1000) / 1000,
    ...(clientRequestId === undefined ? {} : { clientRequestId }),
  };
}

/** Writes `request`'s access line on its own logger (so the line carries its `reqId`). */
export function logAccess(request: FastifyRequest, route: string, statusCode: number, elapsedMs: number): void {
  request.log.info(accessLine(request, route, statusCode, elapsedMs), ACCESS_LINE_MESSAGE);
}
