import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { evaluateRun, latencyStats, runQueries, type RunHit } from '../src/eval/index.js';

const queries = [
  { id: 'q1', text: 'alpha' },
  { id: 'q2', text: 'beta' },
  { id: 'q3', text: 'gamma' },
  { id: 'q4', text: 'delta' },
];

describe('runQueries', () => {
  it('records each query\'s hits and duration, and feeds evaluateRun and latencyStats', async () => {
    const seen: string[] = [];
    const hitsFor = (text: string): RunHit[] => [{ docId: `${text}-doc`, score: 1 }, { docId: 'other', score: 0.5 }];
    const timed = await runQueries(queries, async (text, id) => {
      seen.push(id);
      await sleep(text === 'gamma' ? 40 : 5);
      return hitsFor(text);
    });
    assert.deepEqual(seen, ['q1', 'q2', 'q3', 'q4']);
    assert.deepEqual(timed.run.get('q3'), hitsFor('gamma'));
    assert.ok(timed.durationsMs[2]! >= 35, `gamma took ${timed.durationsMs[2]} ms`);
    assert.ok(timed.durationsMs[0]! < timed.durationsMs[2]!);
    assert.ok(timed.wallMs >= timed.durationsMs.reduce((s, v) => s + v, 0) - 1);
    const qrels = new Map(queries.map((q) => [q.id, new Map([[`${q.text}-doc`, 1]])]));
    assert.equal(evaluateRun(timed.run, qrels).mean['mrr@10'], 1);
    assert.equal(latencyStats(timed.durationsMs).p99Ms, timed.durationsMs[2]);
  });

  it('overlaps queries with concurrency > 1 and warms up without recording', async () => {
    let calls = 0;
    const timed = await runQueries(
      queries,
      async () => {
        calls++;
        await sleep(30);
        return [];
      },
      { concurrency: 4, warmup: 2 },
    );
    assert.equal(calls, 6);
    assert.equal(timed.run.size, 4);
    assert.ok(timed.wallMs < 100, `4 × 30 ms queries in parallel took ${timed.wallMs} ms`);
  });

  it('stops when aborted and refuses a bad concurrency', async () => {
    const controller = new AbortController();
    await assert.rejects(
      runQueries(queries, (text) => {
        if (text === 'beta') controller.abort();
        return [];
      }, { signal: controller.signal }),
      { code: 'ABORTED' },
    );
    await assert.rejects(runQueries(queries, () => [], { concurrency: 0 }), { code: 'INVALID_ARGUMENT' });
  });
});
