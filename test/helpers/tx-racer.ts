/**
 * One contender of the transaction race (test/transaction-concurrency.test.ts), run as a child
 * process: `node tx-racer.js <index> <log> <role> <name> <startAtMs> [<built>] [<after>]`. It loads,
 * waits for the shared start instant (and, given `<after>`, until that contender has logged that it
 * holds the lock), then makes its one change, retrying while the index is locked. Inside the
 * lock it appends `<name> <event>` lines to the shared log (O_APPEND): the parent checks that no two
 * contenders' lines interleave (two lock holders would) and replays the commit order. It prints
 * `ack <name>` once the change is acknowledged, or `refused <name> <code>`.
 */
import { appendFileSync, cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { updateIndex } from '../../src/mutate/index-updater.js';
import { writeCalibration, type IndexCalibration } from '../../src/format/calibration-record.js';
import { readManifest } from '../../src/format/index-reader.js';
import { contentCommitOf } from '../../src/format/index-transaction.js';
import { publishIndex, temporaryBuildDir } from '../../src/format/publish.js';
import { isPlaitError } from '../../src/errors/index.js';
import { syntheticPassages } from '../../fixtures/synthetic-index.js';
import { encodedDoc } from './living.js';

export const RACE_DIM = 16;
export const racePassages = () => syntheticPassages(24, RACE_DIM, 21, 16, 0.35).passages;

const RECORD = { createdAt: 'race', target: 0.99, source: 'corpus', queries: 1, queriesByKind: {}, gridPoints: 1, costMs: 1, budgetMs: 1, truncated: false, documents: 0, passages: 0, buckets: [] } as IndexCalibration;

async function main(): Promise<void> {
  const [index, log, role, name, startAt, built, after] = process.argv.slice(2) as [string, string, string, string, string, string | undefined, string | undefined];
  const mark = (event: string): void => appendFileSync(log, `${name} ${event}\n`);
  const onOp = (): void => mark('op');
  const passages = racePassages();
  // Calibration measures before it commits: the content it measured is read outside the lock.
  const measured = role === 'calibrate' ? contentCommitOf(readManifest(index)) : '';
  while (Date.now() < Number(startAt)) {
    // spin to the shared instant
  }
  // Ordered cycles: contend only once `after` holds the lock, so that this change must wait for it.
  while (after && !readFileSync(log, 'utf8').includes(`${after} begin\n`)) await new Promise((r) => setTimeout(r, 1));
  for (let attempt = 0; ; attempt++) {
    try {
      if (role === 'add') updateIndex(index, { add: [encodedDoc(name, passages[attempt % passages.length]!)] }, { onOp, autoCompactShare: 1 });
      else if (role === 'calibrate') writeCalibration(index, { ...RECORD, createdAt: name }, { onOp, measured });
      else if (role === 'rebuild') {
        const tmp = temporaryBuildDir(index, { onOp });
        mark('begin');
        for (const n of readdirSync(built!)) if (!/^(write\.lock|managed\.json)/.test(n)) cpSync(join(built!, n), join(tmp, n));
        publishIndex(tmp, index);
      } else throw new Error(`unknown role ${role}`);
      process.stdout.write(`ack ${name}\n`);
      return;
    } catch (e) {
      if (isPlaitError(e, 'INDEX_LOCKED') && attempt < 2000) {
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
        continue;
      }
      if (isPlaitError(e)) {
        process.stdout.write(`refused ${name} ${e.code}\n`);
        return;
      }
      throw e;
    }
  }
}

// The test runner also loads every file under test/ as a test file (no arguments): nothing to do then.
if (process.argv[1]?.endsWith('tx-racer.js') && process.argv.length >= 7) await main();
