/**
 * What the body-receive deadline (server/receive-timeout.ts: one owned timer per request, cleared
 * when the body is in or the answer sent) and the one-line access log cost a request: an
 * in-process server with the bundled reranker, autocannon for `seconds` on GET /health (the
 * cheapest route, where a per-request cost shows most) and on TEI's /rerank of two short texts,
 * with `receiveTimeoutMs` 0 (no timer) and 60 000 (the default), interleaved `rounds` times; logs go
 * to a sink at level info, as in production. Prints each round's requests per second, the medians
 * and the ratio default / off (the baseline is the same run's `off`).
 *
 * Run: `node dist/bench/server-receive-deadline.js [rounds=5] [seconds=3]`
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { createEncoder, Reranker } from '../src/index.js';
import { Engine, resolveServerOptions, serveEngine } from '../src/server/index.js';
import { isMain, machine } from './common.js';

async function rate(reranker: Reranker, receiveTimeoutMs: number, path: string, seconds: number): Promise<number> {
  const options = resolveServerOptions({ port: 0, logLevel: 'info', logDestination: { write: () => {} }, defaultMetrics: false, receiveTimeoutMs }, {});
  const engine = new Engine({ indexes: [], rerankers: [{ names: ['bundled'], reranker, borrowed: true }] }, options);
  await engine.warmUp();
  const server = await serveEngine(engine);
  try {
    const rerank = path === '/rerank';
    const r = await autocannon({
      url: `${server.url}${path}`,
      connections: 8,
      duration: seconds,
      requests: [rerank ? { method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify({ query: 'bread rise', texts: ['yeast makes dough rise', 'stocks fell'] }) }) } : { method: 'GET' }],
    });
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${path}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return r.requests.total / seconds;
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const seconds = Number(process.argv[3] ?? 3);
  const encoder = await createEncoder({ family: 'use-lite' }, { threads: 0 });
  const reranker = await Reranker.create({ encoder });
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const load = [loadavg()[0]!];
  for (const path of ['/health', '/rerank']) {
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < rounds; i++) {
      off.push(await rate(reranker, 0, path, seconds));
      on.push(await rate(reranker, 60_000, path, seconds));
    }
    console.log(JSON.stringify({ path, off: off.map(Math.round), default: on.map(Math.round), medianOff: Math.round(median(off)), medianDefault: Math.round(median(on)), ratio: Number((median(on) / median(off)).toFixed(3)) }));
  }
  load.push(loadavg()[0]!);
  console.log(JSON.stringify({ machine: machine(), loadavg1: load.map((l) => Number(l.toFixed(2))) }));
  await encoder.close();
}

if (isMain(import.meta.url)) await main();
