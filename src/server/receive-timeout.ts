/**
 * The time a client has to send its whole request (SERVER_DEFAULTS.receiveTimeoutMs). Headers are
 * bounded by Node's `server.requestTimeout` (app.ts sets it; Fastify's default of 0 had left them
 * unbounded too); a body is not: on Node 20 the check stops once the request is handed to the
 * handler, so a client that trickled its body a byte at a time held its socket and its buffered
 * bytes for ever (measured: a 20-byte body sent a byte per 300 ms to a server with
 * requestTimeout 1500 was still open after 5 s). This hook gives each request with a body a timer,
 * owned and cleared when the body has arrived or the answer is sent; when it fires first, the
 * socket gets a 408 in its route's error shape and is closed, as Node closes one past its header limit.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorBody, shapeErrorBody, type ErrorShape } from './http-errors.js';
import { PlaitError } from '../errors/index.js';
import type { ServerMetrics } from './metrics.js';
import { ACCESS_LINE_MESSAGE, accessLine } from './access-log.js';

/**
 * The 408 a request past `receiveTimeoutMs` gets, in its route's error shape (`shape`: TEI's on
 * /rerank, Cohere's on /v1 and /v2/rerank; plait's before any route is known). Its code is
 * TIMEOUT but its status 408, not the table's 504: the status goes to the shape (TEI's kind of a
 * 408 is Validation, the client's slowness, not Overloaded).
 */
function receiveTimeoutBody(receiveTimeoutMs: number, requestId?: string, shape?: ErrorShape): string {
  return JSON.stringify(
    shapeErrorBody(
      errorBody(new PlaitError('TIMEOUT', { message: `the request did not arrive whole within the server's receive limit of ${receiveTimeoutMs} ms (--receive-timeout-ms); the connection is closed` }), requestId),
      shape,
      408,
    ),
  );
}

/**
 * Writes `status` and a JSON `body` straight to a socket whose request never reached a route, then
 * closes it (what Node and Fastify do for a client error; there is no reply object to use).
 */
function answerSocket(socket: Socket, status: number, body: string, requestId?: string): void {
  if (socket.writable) {
    const id = requestId === undefined ? '' : `x-request-id: ${requestId}\r\n`;
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n${id}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy();
}

/**
 * Fastify's `clientErrorHandler`: a request Node refused before any route (its headers past
 * `receiveTimeoutMs`, 408; headers over Node's size limit, 431; a malformed request, 400) is answered
 * in plait's `{error: {code, message}}` shape, as every other answer (Fastify's own shape was
 * `{"error":"Request Timeout","message":"Client Timeout","statusCode":408}`).
 */
export function clientErrorHandler(receiveTimeoutMs: number): (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) => void {
  // Fastify binds the handler to the instance (fastify.js: `clientErrorHandler.bind(fastify)`): its logger.
  return function (this: FastifyInstance, err, socket) {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const remoteAddress = socket.remoteAddress;
    let status: number;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      answerSocket(socket, status, receiveTimeoutBody(receiveTimeoutMs));
    } else {
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const message = tooLarge ? "the request's headers are larger than the server accepts (Node's --max-http-header-size, 16 KiB by default)" : 'the request is not valid HTTP/1.1';
      status = tooLarge ? 431 : 400;
      answerSocket(socket, status, JSON.stringify(errorBody(new PlaitError('INVALID_ARGUMENT', { message }))));
    }
    // Its access line too: no request was parsed, so no method, URL, id or time, only what the socket knows.
    this.log.info({ route: 'unmatched', statusCode: status, remoteAddress }, ACCESS_LINE_MESSAGE);
  };
}

/** Installs the body-receive deadline on `app` (no-op for `receiveTimeoutMs` 0). */
export function installReceiveTimeout(app: FastifyInstance, receiveTimeoutMs: number, metrics: ServerMetrics): void {
  if (receiveTimeoutMs <= 0) return;
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  const clear = (request: FastifyRequest): void => {
    const t = timers.get(request);
    if (t !== undefined) clearTimeout(t);
    timers.delete(request);
  };
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.raw;
    // A request without a body (GET /health, /ready, /metrics) is whole once its headers are, and those
    // are Node's requestTimeout's: no timer for it.
    const length = raw.headers['content-length'];
    if (raw.complete || ((length === undefined || length === '0') && raw.headers['transfer-encoding'] === undefined)) return;
    const timer = setTimeout(() => {
      timers.delete(request);
      if (raw.complete) return;
      const socket = raw.socket;
      const route = request.routeOptions.url ?? 'unmatched';
      // Counted, timed and logged as app.ts's onResponse does every answered request (that hook never
      // runs here: no reply is sent): one access line, not a line of its own. Its fields are read
      // before the socket closes (a closed socket has no remote address).
      const line = accessLine(request, route, 408, reply.elapsedTime);
      answerSocket(socket, 408, receiveTimeoutBody(receiveTimeoutMs, request.id, request.routeOptions.config?.errorShape), request.id);
      metrics.requests.inc({ route, method: request.method, status: '408' });
      metrics.duration.observe({ route }, reply.elapsedTime / 1000);
      request.log.info(line, ACCESS_LINE_MESSAGE);
    }, receiveTimeoutMs);
    timers.set(request, timer);
    raw.once('end', () => clear(request));
    raw.once('close', () => clear(request));
  });
  app.addHook('onResponse', async (request) => clear(request));
}
