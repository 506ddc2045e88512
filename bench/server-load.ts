/**
 * Load benchmark of `plait serve` on loopback: the server runs in a child process (`plait serve`,
 * as in production), the load comes from autocannon in this process.
 *
 *  1. End-to-end latency, one request at a time, query encoding included: 200 single searches
 *     (topK 10, the index's default mode); 10 reranks of 100 documents never seen (cold: every
 *     document encoded) and 20 of 100 documents already in the reranker's document cache (warm).
 *  2. Sustainable search rate: closed loop with `maxConcurrent` connections for `phaseS` seconds.
 *  3. 1× that rate (open loop, autocannon's overallRate) and 2× (overload): throughput, p50/p95/p99
 *     of admitted (200) requests, share shed (503 OVERLOADED at once), and any other status.
 *  4. Closed loop and 2× overload on /v2/rerank, 100 documents each from a 300-gloss pool put in
 *     the reranker's document cache first (warm: query encoding + MaxSim + HTTP).
 *  5. A soak at 1× for `soakS` seconds, sampling the server's RSS (and JS heap, from /metrics) every 5 s.
 * Each phase starts once the previous one's abandoned requests have left the server.
 * Every search uses a different query (wordnet glosses' first words) and the result and query
 * caches are off, so each request pays for encoding and scoring. The baseline for the ratios is
 * phase 1's single-request latency in the same run.
 *
 * Run: `node dist/bench/server-load.js [index=wordnet-scale] [phaseS=20] [soakS=600]`
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SERVER_DEFAULTS } from '../src/config/defaults.js';
import { dataDir, freePort, isMain, machine, percentiles, waitReady } from './common.js';

interface PhaseResult {
  route: string;
  targetRate: number | null;
  seconds: number;
  sent: number;
  throughput: number;
  ok: number;
  shed: number;
  other: Record<string, number>;
  okLatency: { p50: number; p95: number; p99: number; mean: number } | null;
  shedLatency: { p50: number; p99: number } | null;
}


/** Gloss texts of wordnet-scale, in file order. */
function glosses(limit: number): string[] {
  const dir = join(dataDir() ?? '../shared/data', 'wordnet-scale');
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.startsWith('corpus')).sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const d = JSON.parse(line) as { text: string };
      out.push(d.text);
      if (out.length >= limit) return out;
    }
  }
  return out;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

async function post(url: string, body: unknown): Promise<{ status: number; ms: number }> {
  const t = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t };
}

/** A sample of the server's own /metrics (admission in flight, JS heap used). */
async function scrape(url: string): Promise<{ inFlight: number; heapMiB: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { inFlight: num('plait_admission_in_flight'), heapMiB: num('nodejs_heap_size_used_bytes') / 2 ** 20 };
}

/** Waits until the previous phase's abandoned work has left the server (slots free). */
async function settle(url: string): Promise<void> {
  while ((await scrape(url)).inFlight > 0) await new Promise((r) => setTimeout(r, 200));
}

async function phase(url: string, route: string, bodies: () => string, seconds: number, connections: number, rate: number | null): Promise<PhaseResult> {
  await settle(url);
  const ok: number[] = [];
  const shed: number[] = [];
  const other: Record<string, number> = {};
  const instance = autocannon({
    url: `${url}${route}`,
    connections,
    duration: seconds,
    ...(rate === null ? {} : { overallRate: rate }),
    timeout: 60,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req: object) => ({ ...req, body: bodies() }) }],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status === 200) ok.push(ms);
    else if (status === 503) shed.push(ms);
    else other[status] = (other[status] ?? 0) + 1;
  });
  const result = await instance;
  const sent = ok.length + shed.length + Object.values(other).reduce((a, b) => a + b, 0) + result.errors + result.timeouts;
  if (result.errors + result.timeouts > 0) other.errors = result.errors + result.timeouts;
  const sp = shed.length > 0 ? percentiles(shed) : null;
  return {
    route,
    targetRate: rate,
    seconds,
    sent,
    throughput: ok.length / seconds,
    ok: ok.length,
    shed: shed.length,
    other,
    okLatency: ok.length > 0 ? percentiles(ok) : null,
    shedLatency: sp === null ? null : { p50: sp.p50, p99: sp.p99 },
  };
}

export async function serverLoad(index: string, phaseS: number, soakS: number): Promise<object> {
  const port = await freePort();
  const bin = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', index, '--port', String(port), '--log-level', 'warn', '--result-cache-mb', '0', '--query-cache-mb', '0'], {
    stdio: ['ignore', 2, 2], // server logs to stderr: stdout carries only this benchmark's JSON
  });
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  try {
    await waitReady(url, child);
    const readyS = (performance.now() - started) / 1000;
    const name = index.replace(/\/+$/, '').split('/').at(-1)!;
    const search = `/v1/indexes/${name}/search`;
    const texts = glosses(30_000);
    let next = 0;
    const query = (): string => {
      const words = texts[(next++ * 7919) % texts.length]!.split(/\s+/).slice(0, 3 + (next % 5));
      return `${words.join(' ')} ${next}`;
    };
    const load = { loadavgStart: loadavg().map((x) => Number(x.toFixed(2))) };

    // 1. One request at a time.
    for (let i = 0; i < 10; i++) await post(`${url}${search}`, { query: query() });
    const single: number[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await post(`${url}${search}`, { query: query() });
      if (r.status !== 200) throw new Error(`search answered ${r.status}`);
      single.push(r.ms);
    }
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < 20; i++) {
      const docs = texts.slice(20_000 + (i % 10) * 100, 20_000 + ((i % 10) + 1) * 100);
      const r = await post(`${url}/v2/rerank`, { model: 'rerank-v3.5', query: query(), documents: docs, top_n: 10 });
      if (r.status !== 200) throw new Error(`rerank answered ${r.status}`);
      (i < 10 ? cold : warm).push(r.ms);
    }

    // 2–3. Sustainable rate, then 1× and 2× of it.
    const body = (): string => JSON.stringify({ query: query() });
    const closed = await phase(url, search, body, phaseS, SERVER_DEFAULTS.maxConcurrent, null);
    const rate = Math.max(1, Math.floor(closed.throughput));
    const at1 = await phase(url, search, body, phaseS, 64, rate);
    const at2 = await phase(url, search, body, phaseS, 128, 2 * rate);

    // 4. Rerank under load, warm: 100 documents drawn from a 300-gloss pool that is first put in the
    //    reranker's document cache (cold 100-document reranks are measured one at a time above).
    const pool = texts.slice(25_000, 25_300);
    for (let i = 0; i < pool.length; i += 100) await post(`${url}/v2/rerank`, { model: 'rerank-v3.5', query: query(), documents: pool.slice(i, i + 100) });
    let r = 0;
    const rerankBody = (): string => {
      r++;
      const docs = Array.from({ length: 100 }, (_, i) => pool[(r * 37 + i * 13) % pool.length]!);
      return JSON.stringify({ model: 'rerank-v3.5', query: query(), documents: docs, top_n: 10 });
    };
    const rerankClosed = await phase(url, '/v2/rerank', rerankBody, phaseS, SERVER_DEFAULTS.maxConcurrent, null);
    const rerankRate = Math.max(1, Math.floor(rerankClosed.throughput));
    const rerank2 = await phase(url, '/v2/rerank', rerankBody, phaseS, 64, 2 * rerankRate);

    // 5. Soak at 1×, RSS every 5 s.
    const rss: number[] = [rssMiB(child.pid!)];
    const heap: number[] = [];
    const sampler = setInterval(() => {
      rss.push(rssMiB(child.pid!));
      void scrape(url).then((m) => heap.push(m.heapMiB));
    }, 5000);
    const soak = await phase(url, search, body, soakS, 64, rate);
    clearInterval(sampler);
    rss.push(rssMiB(child.pid!));
    // Under load RSS holds in-flight buffers and uncollected garbage; 10 s idle shows what stays.
    await new Promise((res) => setTimeout(res, 10_000));
    const idleRss = rssMiB(child.pid!);
    const idleHeap = (await scrape(url)).heapMiB;
    const half = Math.floor(rss.length / 2);
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);

    return {
      machine: machine(),
      index,
      readyS: Number(readyS.toFixed(1)),
      ...load,
      single: { search: percentiles(single), rerank100Cold: percentiles(cold), rerank100Warm: percentiles(warm) },
      search: { closedLoop: closed, at1x: at1, at2x: at2 },
      rerank: { closedLoop: rerankClosed, at2x: rerank2 },
      soak: {
        seconds: soakS,
        ok: soak.ok,
        shed: soak.shed,
        other: soak.other,
        okLatency: soak.okLatency,
        rssMiB: { first: rss[0], last: rss.at(-1), max: Math.max(...rss), firstHalfMean: mean(rss.slice(0, half)), secondHalfMean: mean(rss.slice(half)), afterIdle10s: idleRss },
        heapUsedAfterIdleMiB: idleHeap,
        samples: rss.map((x) => Number(x.toFixed(0))),
        heapUsedMiB: heap.map((x) => Number(x.toFixed(0))),
      },
      ratios: {
        at1xP50OverSingleP50: at1.okLatency === null ? null : at1.okLatency.p50 / percentiles(single).p50,
        at2xAdmittedP99OverAt1xP99: at2.okLatency === null || at1.okLatency === null ? null : at2.okLatency.p99 / at1.okLatency.p99,
      },
      loadavgEnd: loadavg().map((x) => Number(x.toFixed(2))),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((res) => child.once('exit', res));
  }
}

if (isMain(import.meta.url)) {
  const [index = 'wordnet-scale', phaseS = '20', soakS = '600'] = process.argv.slice(2);
  const out = await serverLoad(index, Number(phaseS), Number(soakS));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
