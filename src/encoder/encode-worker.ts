/**
 * Piscina worker entry: keeps one backend per model spec and encodes batches.
 * Results travel back as one packed transfer (no per-text copies).
 */
import { Piscina } from 'piscina';
import { loadFamily } from './families.js';
import type { BackendOptions, EncoderBackend, ModelSpec, TextKind } from './types.js';
import { packEmbeddings, type PackedEmbeddings } from './packing.js';
import { PlaitError, type ErrorCode, type ErrorDetails } from '../errors/index.js';

export interface EncodeTask {
  spec: ModelSpec;
  options: BackendOptions;
  texts: string[];
  kind: TextKind;
}

const backends = new Map<string, Promise<EncoderBackend>>();

function backendFor(spec: ModelSpec, options: BackendOptions): Promise<EncoderBackend> {
  const key = JSON.stringify([spec, options]);
  let backend = backends.get(key);
  if (backend === undefined) {
    backend = loadFamily(spec.family).then((family) => family.loadBackend(spec, options));
    backends.set(key, backend);
    backend.catch(() => backends.delete(key));
  }
  return backend;
}

/**
 * A PlaitError thrown in the worker, sent back as a value: an Error crossing to the main thread keeps
 * its message only (structured clone drops `code` and `details`), so the main thread could tell
 * nothing but WORKER_FAILED (`PLAIT_USE_LITE_ENGINE=bogus` was exit 1, WORKER_FAILED, not 2,
 * INVALID_ARGUMENT). create-encoder.ts throws it again as the same PlaitError.
 */
export interface EncodeFailure {
  failed: { code: ErrorCode; message: string; details?: ErrorDetails };
}

export default async function encode(task: EncodeTask): Promise<PackedEmbeddings | EncodeFailure> {
  let embeddings: Awaited<ReturnType<EncoderBackend['encode']>>;
  try {
    const backend = await backendFor(task.spec, task.options);
    embeddings = await backend.encode(task.texts, task.kind);
  } catch (e) {
    if (e instanceof PlaitError) return { failed: e.toJSON() };
    throw e;
  }
  const packed = packEmbeddings(embeddings);
  // Hand the three buffers over to the main thread instead of copying them.
  const movable = {
    [Piscina.transferableSymbol]: [packed.vectors.buffer, packed.tokenIds.buffer, packed.lengths.buffer],
    [Piscina.valueSymbol]: packed,
  };
  return Piscina.move(movable as never) as unknown as PackedEmbeddings;
}
