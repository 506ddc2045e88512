/**
 * Large reranks under load (server-9): `plait serve` (reranker only, bundled model) in a child
 * process, and `connections` clients on loopback, each in a closed loop for `seconds`, sending TEI
 * `/rerank` requests of `docs` scifact abstracts cut to `docChars` characters (every document made
 * unique with the request's number, so the reranker's cache never answers), plus `small` clients
 * sending 5-document reranks of the same kind. Every request sent is followed to its answer (the
 * server's deadline bounds it: 30 s by default), so nothing is lost at the end of the run.
 * Reports per kind: sent, answered 200, shed 503/429, timed out 504, other; p50/p99 of the 200s
 * and of the 503s; the server's load average at start and end; admission's drain rate
 * (`plait_admission_token_drain_ms`, sampled every 5 s) where the build has it.
 *
 * Run: `node dist/bench/rerank-admission.js [seconds=60] [connections=10] [docs=50] [docChars=500] [small=2] [-- serve args…]`
 * `PLAIT_BENCH_BIN` names another build's bin/plait.js (a baseline copied aside).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dataDir, freePort, isMain, machine, percentiles, waitReady } from './common.js';


interface Tally {
  sent: number;
  ok: number[];
  shed: number[];
  timedOut: number;
  other: Record<string, number>;
}

function summary(t: Tally): object {
  const r = (x: number): number => Math.round(x);
  const ok = t.ok.length > 0 ? percentiles(t.ok) : null;
  const shed = t.shed.length > 0 ? percentiles(t.shed) : null;
  return {
    sent: t.sent,
    answered: t.ok.length,
    shed: t.shed.length,
    timedOut: t.timedOut,
    other: t.other,
    okMs: ok === null ? null : { p50: r(ok.p50), p99: r(ok.p99) },
    shedMs: shed === null ? null : { p50: r(shed.p50), p99: r(shed.p99) },
  };
}

export async function rerankAdmission(seconds: number, connections: number, docs: number, docChars: number, small: number, serveArgs: string[]): Promise<object> {
  const abstracts = readFileSync(join(dataDir() ?? '../shared/data', 'scifact', 'corpus.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { text: string }).text)
    .filter((t) => t.length >= docChars)
    .map((t) => t.slice(0, docChars));
  const port = await freePort();
  const bin = process.env.PLAIT_BENCH_BIN ?? fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--log-level', 'warn', ...serveArgs], { stdio: ['ignore', 2, 2] });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child);
    let n = 0;
    const body = (count: number): string => {
      const i = n++;
      const texts = Array.from({ length: count }, (_, j) => `${abstracts[(i * count + j) % abstracts.length]!} (${i}.${j})`);
      return JSON.stringify({ query: `${abstracts[(i * 7) % abstracts.length]!.split(' ').slice(0, 8).join(' ')}`, texts });
    };
    const tallies = { large: { sent: 0, ok: [], shed: [], timedOut: 0, other: {} } as Tally, small: { sent: 0, ok: [], shed: [], timedOut: 0, other: {} } as Tally };
    const loadStart = loadavg()[0]!;
    const end = performance.now() + seconds * 1000;
    const client = async (kind: 'large' | 'small'): Promise<void> => {
      const t = tallies[kind];
      while (performance.now() < end) {
        const b = body(kind === 'large' ? docs : 5);
        const t0 = performance.now();
        t.sent++;
        const res = await fetch(`${url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
        await res.arrayBuffer();
        const ms = performance.now() - t0;
        if (res.status === 200) t.ok.push(ms);
        else if (res.status === 503 || res.status === 429) {
          t.shed.push(ms);
          // A client told to retry waits as Retry-After says (seconds), as a well-behaved one would.
          const after = Number(res.headers.get('retry-after') ?? '1');
          await new Promise((r) => setTimeout(r, Math.min(Math.max(0, end - performance.now()), after * 1000)));
        } else if (res.status === 504) t.timedOut++;
        else t.other[res.status] = (t.other[res.status] ?? 0) + 1;
      }
    };
    // Admission's drain rate (ms a token) from /metrics every 5 s; null where the build has no such gauge.
    const drainMs: number[] = [];
    const sampler = setInterval(() => {
      void fetch(`${url}/metrics`)
        .then((r) => r.text())
        .then((t) => {
          const m = /^plait_admission_token_drain_ms (\S+)$/m.exec(t);
          if (m !== null) drainMs.push(Number(m[1]));
        })
        .catch(() => undefined);
    }, 5000);
    const started = performance.now();
    await Promise.all([...Array.from({ length: connections }, () => client('large')), ...Array.from({ length: small }, () => client('small'))]);
    clearInterval(sampler);
    return {
      machine: machine(),
      seconds,
      connections,
      docs,
      docChars,
      smallClients: small,
      serveArgs,
      wallS: Math.round((performance.now() - started) / 100) / 10,
      loadavg1: { start: Number(loadStart.toFixed(2)), end: Number(loadavg()[0]!.toFixed(2)) },
      drainMsPerToken: drainMs.length === 0 ? null : { ...Object.fromEntries(Object.entries(percentiles(drainMs)).map(([k, v]) => [k, Number(v.toFixed(3))])), last: Number(drainMs[drainMs.length - 1]!.toFixed(3)) },
      large: summary(tallies.large),
      small: summary(tallies.small),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const dash = argv.indexOf('--');
  const pos = (dash < 0 ? argv : argv.slice(0, dash)).map(Number);
  const serveArgs = dash < 0 ? [] : argv.slice(dash + 1);
  console.log(JSON.stringify(await rerankAdmission(pos[0] ?? 60, pos[1] ?? 10, pos[2] ?? 50, pos[3] ?? 500, pos[4] ?? 2, serveArgs), null, 2));
}
