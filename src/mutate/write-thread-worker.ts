/**
 * The write thread's entry (write-thread.ts starts it): runs `updateIndex` / `compactIndex` — the
 * same synchronous transaction the calling thread would run, with the same lock, file operations
 * and commit order — and posts back the result or the error as a value (a PlaitError's code and
 * details, an errno's code, and their causes, which a structured clone of an Error would drop).
 *
 * Cancellation: between the write's steps before its commit (`onStep`), a set flag in the shared
 * `cancel` word stops it with ABORTED; the transaction rolls back as for any error thrown there (the
 * crash tests kill a process at the same steps). From the first `committed` step on (an automatic
 * compaction after a write included) nothing is cancelled: a committed write is answered.
 */
import { parentPort } from 'node:worker_threads';
import { PlaitError } from '../errors/index.js';
import { getKernels, typescriptKernels } from '../kernels/index.js';
import { compactIndex, updateIndex } from './index-updater.js';
import type { WriteTask, WriteReply, WireError } from './write-thread.js';

/** An error as a value that crosses postMessage whole: PlaitError code and details, errno fields, the cause chain (8 deep). */
function wireError(e: unknown, depth = 0): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const out: WireError = { name: e.name, message: e.message, ...(e.stack === undefined ? {} : { stack: e.stack }) };
  if (e instanceof PlaitError) {
    out.plaitCode = e.code;
    if (e.details !== undefined) out.details = cloneable(e.details);
  }
  const props: Record<string, string | number> = {};
  for (const k of ['code', 'errno', 'syscall', 'path'] as const) {
    const v = (e as unknown as Record<string, unknown>)[k];
    if (typeof v === 'string' || typeof v === 'number') props[k] = v;
  }
  if (Object.keys(props).length > 0) out.props = props;
  if (e.cause !== undefined && depth < 8) out.cause = wireError(e.cause, depth + 1);
  return out;
}

/** `details` as structured clone takes them, or through JSON when they hold something it refuses. */
function cloneable(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(details);
  } catch {
    return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
  }
}

function run(task: WriteTask): unknown {
  const cancel = new Int32Array(task.cancel);
  let committed = false;
  const onStep = (step: string): void => {
    if (step === 'committed') committed = true;
    if (!committed && Atomics.load(cancel, 0) === 1) throw new PlaitError('ABORTED', { message: `the write was cancelled at step ${step}, before its commit: nothing was written` });
  };
  const kernels = task.kernels === 'typescript' ? typescriptKernels : getKernels();
  const lock = task.lock === undefined ? {} : { lock: task.lock };
  if (task.op === 'compact') return compactIndex(task.dir, { kernels, onStep, ...lock });
  return updateIndex(task.dir, task.req, {
    kernels,
    onStep,
    ...lock,
    ...(task.autoCompactShare === undefined ? {} : { autoCompactShare: task.autoCompactShare }),
    ...(task.deltaMergeShare === undefined ? {} : { deltaMergeShare: task.deltaMergeShare }),
  });
}

parentPort!.on('message', (task: WriteTask) => {
  let reply: WriteReply;
  try {
    reply = { ok: true, value: run(task) };
  } catch (e) {
    reply = { ok: false, error: wireError(e) };
  }
  parentPort!.postMessage(reply);
});
