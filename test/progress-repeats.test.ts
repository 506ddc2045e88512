/**
 * The progress reporter writes a count once: a repeat of the last line (same phase, done and
 * total) had been written again — the last line of `plait index`, `plait add` and `plait eval`
 * came twice on a pipe, since several callers report a phase's end twice — and on a terminal a
 * finished phase's bar was redrawn every second with a falling rate while the command committed.
 * (The eval end of it, through the real CLI: eval-lexical-only.test.ts.)
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ProgressReporter } from '../src/cli/progress.js';

/** A stream that keeps what is written to it. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

test('JSON lines: a count that repeats the last line written is not written again; a new phase or count is', async () => {
  const out = sink();
  const p = new ProgressReporter('json', out.stream);
  p.update('encode', 584, 584, 10);
  p.update('encode', 584, 584, 20);
  p.update('ivf', 0, 1, 30);
  p.update('done', 1, 1, 40);
  p.update('done', 1, 1, 50);
  p.done();
  await new Promise((resolve) => setImmediate(resolve));
  const lines = out.text().trim().split('\n').map((l) => JSON.parse(l) as { phase: string; done: number });
  assert.deepEqual(lines.map((l) => `${l.phase} ${l.done}`), ['encode 584', 'ivf 0', 'done 1']);
});

test('bar: a finished phase is drawn once and not redrawn by the timer; an unfinished one still is', () => {
  mock.timers.enable({ apis: ['setInterval', 'Date'] });
  try {
    const out = sink();
    const p = new ProgressReporter('bar', out.stream);
    const draws = (): number => out.text().split('\r').filter((s) => s.includes('encode')).length;
    p.update('encode', 100, 584);
    mock.timers.tick(3000);
    assert.equal(draws(), 4, 'an unfinished phase is redrawn every second (elapsed time and ETA move)');
    p.update('encode', 584, 584);
    p.update('encode', 584, 584);
    mock.timers.tick(10_000);
    assert.equal(draws(), 5, 'the finished phase: drawn once, not again');
    p.done();
  } finally {
    mock.timers.reset();
  }
});
