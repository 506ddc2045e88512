/**
 * The exported doors the option-key sweep had left unchecked (src/index.ts's exports with an
 * options object): IndexTransaction.commit and continueWith, restoreIndex, withLockWait,
 * AppliedSequence.waitFor, WriteLog.append, ClusterIndex's calls on listed documents — and
 * OwnedAbort, whose positional arguments were taken unchecked. Each case failed before the check:
 * the typo was ignored (a default used, the work begun, or a different error thrown later).
 * PlaitError's own `{ cause }` is Error's option bag and stays as Error has it (errors/ sits below util/).
 * No model, no index build: empty folders and objects only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppliedSequence, ClusterIndex, IndexTransaction, OwnedAbort, PlaitError, WriteLog, restoreIndex, withLockWait } from '../src/index.js';

function unknownKey(what: string, key: string, suggestion: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof PlaitError, String(e));
    assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
    assert.equal(e.details?.unknownOption, key);
    assert.equal(e.details?.suggestion, suggestion);
    assert.match(e.message, new RegExp(`unknown ${what} "${key}"`));
    return true;
  };
}

test('IndexTransaction.commit refuses { contnet: false } before it writes, and continueWith { onop } before it closes the transaction', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-internal-doors-'));
  try {
    const tx = IndexTransaction.begin(dir, { allowMissing: true });
    try {
      const before = readdirSync(dir).sort();
      // Before: the manifest was committed with a fresh content identity (the typo dropped).
      assert.throws(() => tx.commit({} as never, { contnet: false } as never), unknownKey('commit option', 'contnet', 'content'));
      assert.deepEqual(readdirSync(dir).sort(), before, 'nothing written');
      assert.equal(tx.committing, false);
      // Before: INTERNAL "needs a committed transaction", which hid the typo.
      assert.throws(() => tx.continueWith({ onop: () => {} } as never), unknownKey('continueWith option', 'onop', 'onOp'));
    } finally {
      tx.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('restoreIndex refuses { replce: true } and { lockwaitMs } naming the key, before it looks at the backup or the target', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-internal-doors-'));
  try {
    // Before: INDEX_NOT_FOUND for the missing backup (the typo never looked at).
    await assert.rejects(restoreIndex(join(dir, 'no-backup'), join(dir, 'target'), { replce: true } as never), unknownKey('restore option', 'replce', 'replace'));
    await assert.rejects(restoreIndex(join(dir, 'no-backup'), join(dir, 'target'), { lockwaitMs: 0 } as never), unknownKey('restore option', 'lockwaitMs', 'lockWaitMs'));
    assert.equal(existsSync(join(dir, 'target')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('withLockWait refuses { lockwaitMs: 0 } before the write runs (it had waited the default 30 s on a held lock)', async () => {
  let ran = 0;
  await assert.rejects(
    withLockWait(() => ran++, { lockwaitMs: 0 } as never),
    unknownKey('lock wait option', 'lockwaitMs', 'lockWaitMs'),
  );
  assert.equal(ran, 0);
  assert.equal(await withLockWait(() => 7, { lockWaitMs: 0 }), 7);
});

test('AppliedSequence.waitFor refuses { timeoutMs, abortSignal } (the abort would never have ended the wait)', async () => {
  const seq = new AppliedSequence(0);
  assert.throws(() => seq.waitFor(5, { timeoutMs: 10, abortSignal: new AbortController().signal } as never), (e: unknown) => {
    assert.ok(e instanceof PlaitError && e.code === 'INVALID_ARGUMENT' && e.details?.unknownOption === 'abortSignal', String(e));
    return true;
  });
  assert.deepEqual(await seq.waitFor(0, { timeoutMs: 0 }), { reached: true, applied: 0 });
});

test("WriteLog.append and ClusterIndex's calls on listed documents refuse a misspelt key before they touch their connection", async () => {
  // The check comes first: an object without a connection shows nothing else was reached.
  const write = { documents: [] };
  await assert.rejects(WriteLog.prototype.append.call({} as WriteLog, write as never, { writeID: 'w1' } as never), unknownKey('write log append option', 'writeID', 'writeId'));
  const o = { minSequence: [] } as never;
  await assert.rejects(ClusterIndex.prototype.bm25Docs.call({} as ClusterIndex, 'q', ['d'], undefined, o), unknownKey('cluster call option', 'minSequence', 'minSequences'));
  await assert.rejects(ClusterIndex.prototype.passagesOf.call({} as ClusterIndex, [{ docId: 'd', pid: 0 }], undefined, o), unknownKey('cluster call option', 'minSequence', 'minSequences'));
  await assert.rejects(ClusterIndex.prototype.passagePositionsOf.call({} as ClusterIndex, [{ docId: 'd', pid: 0 }], undefined, o), unknownKey('cluster call option', 'minSequence', 'minSequences'));
  await assert.rejects(ClusterIndex.prototype.documentsOf.call({} as ClusterIndex, ['d'], undefined, o), unknownKey('cluster call option', 'minSequence', 'minSequences'));
  await assert.rejects(ClusterIndex.prototype.rerankDocs.call({} as ClusterIndex, 'q', ['d'], { signl: undefined } as never), unknownKey('rerank option', 'signl', 'signal'));
  await assert.rejects(ClusterIndex.prototype.rerankDocs.call({} as ClusterIndex, 'q', ['d'], {}, o), unknownKey('cluster call option', 'minSequence', 'minSequences'));
});

test('OwnedAbort refuses a source that is no AbortSignal, a timer Node would fire at once, and a reason that is no function', () => {
  const refused = (name: string) => (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_ARGUMENT' && e.details?.name === name;
  // Before: TypeError "s.addEventListener is not a function" from inside the loop.
  assert.throws(() => new OwnedAbort([undefined as never], undefined, () => 'x'), refused('sources[0]'));
  // Before: a 3e9 ms timer fired after 1 ms (TimeoutOverflowWarning) and aborted at once.
  assert.throws(() => new OwnedAbort([], 3e9, () => 'x'), refused('timeoutMs'));
  assert.throws(() => new OwnedAbort([], 0, () => 'x'), refused('timeoutMs'));
  assert.throws(() => new OwnedAbort([], 10, 'late' as never), refused('timeoutReason'));
  const outer = new AbortController();
  const owned = new OwnedAbort([outer.signal], 60_000, () => 'timer');
  outer.abort('outer');
  assert.equal(owned.signal.reason, 'outer');
  owned.dispose();
});
