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
    // Lower bounds only: a sleep of 40 ms cannot be timed shorter (timers fire at most ~1 ms early),
    // while upper bounds and orderings race on a loaded machine.
    assert.ok(timed.durationsMs[2]! >= 35, `gamma took ${timed.durationsMs[2]} ms`);
    for (const d of timed.durationsMs) assert.ok(d >= 4, `a 5 ms query timed at ${d} ms`);
    // One at a time: the wall clock covers every query's duration.
    assert.ok(timed.wallMs >= timed.durationsMs.reduce((s, v) => s + v, 0) - 1);
    const qrels = new Map(queries.map((q) => [q.id, new Map([[`${q.text}-doc`, 1]])]));
    assert.equal(evaluateRun(timed.run, qrels).mean['mrr@10'], 1);
    // p99 of four durations is the largest (which query that is depends on the machine's load).
    assert.equal(latencyStats(timed.durationsMs).p99Ms, Math.max(...timed.durationsMs));
  });

  // The timeout only ends a hang (a runQueries that runs fewer than four at once never passes the barrier).
  it('overlaps queries with concurrency > 1 and warms up without recording', { timeout: 60_000 }, async () => {
    // Behaviour, not speed: count the searches in flight. Each recorded search waits until all four
    // have started (a barrier), which can only finish if runQueries really runs four at once.
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let started = 0;
    let release!: () => void;
    const allStarted = new Promise<void>((resolve) => (release = resolve));
    const timed = await runQueries(
      queries,
      async (_text, id) => {
        calls++;
        if (calls <= 2) {
          assert.equal(inFlight, 0, 'warm-up queries run one at a time, before the recorded ones');
          return [{ docId: `warm-${id}`, score: 1 }];
        }
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (++started === queries.length) release();
        await allStarted;
        inFlight--;
        return [{ docId: `doc-${id}`, score: 1 }];
      },
      { concurrency: 4, warmup: 2 },
    );
    assert.equal(calls, 6);
    assert.equal(maxInFlight, 4);
    assert.equal(timed.run.size, 4);
    assert.deepEqual([...timed.run.keys()], ['q1', 'q2', 'q3', 'q4']);
    for (const [id, hits] of timed.run) assert.deepEqual(hits, [{ docId: `doc-${id}`, score: 1 }], 'warm-up results are not recorded');
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
