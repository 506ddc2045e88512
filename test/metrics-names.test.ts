/**
 * Every metric family plait declares — a server's (src/server/metrics.ts) and a coordinator's per-shard
 * ones (src/cluster/cluster-metrics.ts), registered on one registry as a coordinator does — follows
 * the naming rules a Prometheus user relies on (prometheus.io, "Metric and label naming"): the
 * `plait_` prefix, `_total` on counters and on nothing else, base units in the name (seconds,
 * bytes; never `_ms`), durations as `_seconds` histograms. The admission drain rate had been
 * `plait_admission_token_drain_ms`, a gauge in milliseconds beside `_seconds` everywhere else, so a
 * dashboard multiplying it by a token count for seconds was off by 1,000.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerMetrics } from '../src/server/metrics.js';
import { ClusterMetrics } from '../src/cluster/cluster-metrics.js';

/** Unit words that are not Prometheus base units, as name parts (`_ms`, `_milliseconds_total`, …). */
const NON_BASE_UNITS = ['ms', 'millis', 'milliseconds', 'us', 'micros', 'microseconds', 'ns', 'nanoseconds', 'minutes', 'hours', 'days', 'kb', 'mb', 'gb', 'kib', 'mib', 'gib', 'percent'];

/** Every family a server with every optional source declares, plus a coordinator's cluster families. */
async function families(): Promise<{ name: string; type: string }[]> {
  const metrics = new ServerMetrics(
    {
      inFlight: () => 0,
      queued: () => 0,
      tokensInFlight: () => 0,
      tokenDrainMs: () => 0.5,
      tokenBusyMs: () => 1000,
      tokenBudgetMs: () => 500,
      caches: () => [{ name: 'result', bytes: 1, entries: 1 }],
      rerankCachedDocuments: () => [{ model: 'm', documents: 1 }],
      scoringWorkers: () => [{ index: 'i', workers: 2 }],
      indexes: () => [{ index: 'i', generation: 1, documents: 3 }],
      breakers: () => [{ model: 'm', state: 'closed' }],
    },
    false,
  );
  new ClusterMetrics(metrics.registry);
  return (await metrics.registry.getMetricsAsJSON()).map((m) => ({ name: m.name, type: String(m.type) }));
}

test('every metric family plait declares is named as Prometheus users expect: prefix, _total on counters only, base units', async () => {
  const all = await families();
  assert.ok(all.length >= 30, `families: ${all.map((f) => f.name).join(', ')}`);
  const faults: string[] = [];
  for (const { name, type } of all) {
    if (!name.startsWith('plait_')) faults.push(`${name}: no plait_ prefix`);
    if (type === 'counter' && !name.endsWith('_total')) faults.push(`${name}: a counter not ending _total`);
    if (type !== 'counter' && name.endsWith('_total')) faults.push(`${name}: a ${type} ending _total (reads as a counter)`);
    const parts = name.split('_');
    const unit = parts.find((p) => NON_BASE_UNITS.includes(p));
    if (unit !== undefined) faults.push(`${name}: unit "${unit}" is not a base unit (seconds, bytes)`);
    if ((type === 'histogram' || type === 'summary') && !/_(seconds|bytes)$/.test(name)) faults.push(`${name}: a ${type} without its base unit at the end`);
  }
  assert.deepEqual(faults, []);
});

test('the admission drain rate is exported in seconds a token (it had been plait_admission_token_drain_ms, in ms)', async () => {
  const metrics = new ServerMetrics({ inFlight: () => 0, queued: () => 0, tokensInFlight: () => 0, tokenDrainMs: () => 0.5, caches: () => [], rerankCachedDocuments: () => [] }, false);
  const text = await metrics.registry.metrics();
  assert.match(text, /^plait_admission_token_drain_seconds 0\.0005$/m);
  assert.doesNotMatch(text, /drain_ms/);
});
