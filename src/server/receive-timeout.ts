/**
 * The time a client has to send its whole request (SERVER_DEFAULTS.receiveTimeoutMs). Headers are
 * bounded by Node's `server.requestTimeout` (app.ts sets it; Fastify's default of 0 had left them
 * unbounded too); a body is not: on Node 20 the check stops once the request is handed to the
 * handler, so a client that trickled its body a byte at a time held its socket and its buffered
 * bytes for ever (measured: a 20-byte body sent a byte per 300 ms to a server with
 * requestTimeout 1500 was still open after 5 s). This hook gives each request with a body a timer,
 * owned and cleared when the body has arrived or the answer is sent; when it fires first, the
 * socket gets a 408 in plait's error shape and is closed, as Node closes one past its header limit.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorBody } from './http-errors.js';
import { PlaitError } from '../errors/index.js';
import type { ServerMetrics } from './metrics.js';

/** Installs the body-receive deadline on `app` (no-op for `receiveTimeoutMs` 0). */
export function installReceiveTimeout(app: FastifyInstance, receiveTimeoutMs: number, metrics: ServerMetrics): void {
  if (receiveTimeoutMs <= 0) return;
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  const clear = (request: FastifyRequest): void => {
    const t = timers.get(request);
    if (t !== undefined) clearTimeout(t);
    timers.delete(request);
  };
  app.addHook('onRequest', async (request) => {
    const raw = request.raw;
    if (raw.complete) return;
    const timer = setTimeout(() => {
      timers.delete(request);
      if (raw.complete) return;
      const socket = raw.socket;
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.requests.inc({ route, method: request.method, status: '408' });
      request.log.info({ receiveTimeoutMs, received: raw.readableLength }, 'request not received in time: 408, connection closed');
      const body = JSON.stringify(
        errorBody(new PlaitError('TIMEOUT', { message: `the request did not arrive whole within the server's receive limit of ${receiveTimeoutMs} ms (--receive-timeout-ms); the connection is closed` }), request.id),
      );
      if (socket.writable) {
        socket.write(`HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nx-request-id: ${request.id}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      socket.destroy();
    }, receiveTimeoutMs);
    timers.set(request, timer);
    raw.once('end', () => clear(request));
    raw.once('close', () => clear(request));
  });
  app.addHook('onResponse', async (request) => clear(request));
}
