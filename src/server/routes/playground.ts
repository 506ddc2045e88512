/**
 * `GET /`: the playground, a single page (HTML, CSS and plain JavaScript in
 * src/server/playground/, no dependencies and no CDN, so it works offline) that searches the
 * served indexes, shows per-stage timings and token-match explanations, and reranks a pasted list.
 * The files are read once, at registration.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { PlaitError } from '../../errors/index.js';

/** The page's files: beside this module when run from src/, under src/ when run from dist/. */
function assetDir(): string {
  for (const rel of ['../playground/', '../../../../src/server/playground/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    try {
      readFileSync(`${dir}index.html`);
      return dir;
    } catch {
      // try the next place
    }
  }
  throw new PlaitError('INTERNAL', { message: 'the playground files (src/server/playground/) are missing from this installation' });
}

const ASSETS: ReadonlyArray<readonly [route: string, file: string, type: string]> = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/playground.js', 'playground.js', 'text/javascript; charset=utf-8'],
  ['/playground.css', 'playground.css', 'text/css; charset=utf-8'],
];

/**
 * The tab icon browsers ask for on their own: a one-path SVG (a plait's three strands), answered
 * here so a browser's automatic request is not a 404 in the server's log and metrics.
 */
const FAVICON = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M2 3c4 0 4 10 8 10M6 3c4 0 4 10 8 10M2 13c4 0 4-10 8-10" fill="none" stroke="#b45309" stroke-width="2"/></svg>',
);

/** Routes anyone may load without the API key (the page asks for it before calling the API). */
export const PLAYGROUND_ROUTES: ReadonlySet<string> = new Set([...ASSETS.map(([route]) => route), '/favicon.ico']);

export const playgroundRoutes: FastifyPluginAsync = async (app) => {
  const dir = assetDir();
  for (const [route, file, type] of ASSETS) {
    const body = readFileSync(`${dir}${file}`);
    app.get(route, { schema: { hide: true } }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').header('content-security-policy', "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'").send(body),
    );
  }
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.type('image/svg+xml').header('cache-control', 'max-age=86400').send(FAVICON));
};
