/**
 * Large reranks under load (server-9): `plait serve` (reranker only, bundled model) in a child
 * process, and `connections` clients on loopback, each in a closed loop for `seconds`, sending TEI
 * `/rerank` requests of `docs` scifact abstracts cut to `docChars` characters (every document made
 * unique with the request's number, so the reranker's cache never answers), plus `small` clients
 * sending 5-document reranks of the same kind. Every request sent is followed to its answer (the
 * server's deadline bounds it: 30 s by default), so nothing is lost at the end of the run.
 * Reports per kind: sent, answered 200, shed 503/429, timed out 504, other, and the same a minute
 * (over `seconds`); p50/p99 of the 200s and of the 503s, and of the Retry-After the 503s said; the
 * server's load average at start and end; admission's drain rate (`plait_admission_token_drain_seconds`)
 * where the build has it. Where the lost throughput goes: /metrics is sampled every `SAMPLE_MS`
 * (series every build has): `busy` is the share of samples with document tokens in flight
 * (`plait_admission_tokens_in_flight` > 0: the small clients alone keep it near 1), `largeBusy` the
 * share with a large rerank's tokens in flight (≥ half its estimate), `largeIdleWhileRetrying` the
 * share with none in flight or queued (`plait_admission_queue_depth` 0) while a large client sat out
 * a Retry-After: encoder time lost to refusals. Where the build counts them (exact, not sampled),
 * `busyCounter` is the rate of `plait_admission_token_busy_seconds_total` and `budgetCounter` of
 * `plait_admission_token_budget_seconds_total` (the token budget's occupancy).
 *
 * Run: `node dist/bench/rerank-admission.js [seconds=60] [connections=10] [docs=50] [docChars=500] [small=2] [-- serve args…]`
 * `PLAIT_BENCH_BIN` names another build's bin/plait.js (a baseline copied aside).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SERVER_DEFAULTS } from '../src/config/defaults.js';
import { dataDir, freePort, isMain, machine, percentiles, waitReady } from './common.js';


/** How often /metrics is sampled (ms) for the busy share: ~240 samples in a minute, each a few ms of the server's time. */
const SAMPLE_MS = 250;

interface Tally {
  sent: number;
  ok: number[];
  shed: number[];
  /** Retry-After of each 503, in seconds. */
  retryAfterS: number[];
  timedOut: number;
  other: Record<string, number>;
}

const tally = (): Tally => ({ sent: 0, ok: [], shed: [], retryAfterS: [], timedOut: 0, other: {} });

function summary(t: Tally, seconds: number): object {
  const r = (x: number): number => Math.round(x);
  const ok = t.ok.length > 0 ? percentiles(t.ok) : null;
  const shed = t.shed.length > 0 ? percentiles(t.shed) : null;
  const after = t.retryAfterS.length > 0 ? percentiles(t.retryAfterS) : null;
  const perMinute = (n: number): number => Math.round((n * 600) / seconds) / 10;
  return {
    sent: t.sent,
    answered: t.ok.length,
    shed: t.shed.length,
    timedOut: t.timedOut,
    other: t.other,
    perMinute: { answered: perMinute(t.ok.length), shed: perMinute(t.shed.length), timedOut: perMinute(t.timedOut) },
    okMs: ok === null ? null : { p50: r(ok.p50), p99: r(ok.p99) },
    shedMs: shed === null ? null : { p50: r(shed.p50), p99: r(shed.p99) },
    retryAfterS: after === null ? null : { p50: after.p50, p99: after.p99, mean: Number(after.mean.toFixed(2)) },
  };
}

/** A sample of /metrics: a gauge's or counter's value, null where the build has no such series. */
function metric(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m === null ? null : Number(m[1]);
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
    const tallies = { large: tally(), small: tally() };
    /** Clients of each kind sitting out a Retry-After now. */
    const retrying = { large: 0, small: 0 };
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
          t.retryAfterS.push(after);
          retrying[kind]++;
          await new Promise((r) => setTimeout(r, Math.min(Math.max(0, end - performance.now()), after * 1000)));
          retrying[kind]--;
        } else if (res.status === 504) t.timedOut++;
        else t.other[res.status] = (t.other[res.status] ?? 0) + 1;
      }
    };
    // /metrics every SAMPLE_MS while the clients send (one sample at a time; not the follow-through
    // after `seconds`, when nobody sends): the drain rate, whether token work is in flight, and the
    // busy-time counter at the first and last sample.
    const drainMs: number[] = [];
    const largeTokens = (docs * docChars) / SERVER_DEFAULTS.charsPerToken;
    const samples = { n: 0, busy: 0, largeBusy: 0, largeIdleWhileRetrying: 0 };
    const counters: { t: number; busy: number | null; budget: number | null }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling && performance.now() < end) {
        const retryingBefore = retrying.large;
        const t = performance.now();
        const text = await fetch(`${url}/metrics`).then((r) => r.text()).catch(() => null);
        if (text !== null) {
          const drain = metric(text, 'plait_admission_token_drain_seconds');
          if (drain !== null) drainMs.push(drain * 1000);
          const inFlight = metric(text, 'plait_admission_tokens_in_flight');
          const queued = metric(text, 'plait_admission_queue_depth');
          if (inFlight !== null && queued !== null) {
            samples.n++;
            if (inFlight > 0) samples.busy++;
            if (inFlight >= largeTokens / 2) samples.largeBusy++;
            else if (queued === 0 && retryingBefore > 0 && retrying.large > 0) samples.largeIdleWhileRetrying++;
          }
          const c = { t, busy: metric(text, 'plait_admission_token_busy_seconds_total'), budget: metric(text, 'plait_admission_token_budget_seconds_total') };
          counters[counters.length === 0 ? 0 : 1] = c;
        }
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
      }
    })();
    const started = performance.now();
    await Promise.all([...Array.from({ length: connections }, () => client('large')), ...Array.from({ length: small }, () => client('small'))]);
    sampling = false;
    await sampler;
    const share = (n: number): number | null => (samples.n === 0 ? null : Number((n / samples.n).toFixed(3)));
    const [first, last] = counters;
    const rate = (k: 'busy' | 'budget'): number | null => {
      const a = first?.[k];
      const b = last?.[k];
      return a == null || b == null || last!.t === first!.t ? null : Number(((b - a) / ((last!.t - first!.t) / 1000)).toFixed(3));
    };
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
      tokenWork: {
        samples: samples.n,
        busy: share(samples.busy),
        largeBusy: share(samples.largeBusy),
        largeIdleWhileRetrying: share(samples.largeIdleWhileRetrying),
        busyCounter: rate('busy'),
        budgetCounter: rate('budget'),
      },
      large: summary(tallies.large, seconds),
      small: summary(tallies.small, seconds),
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
