/**
 * Piscina worker entry: keeps one backend per model spec and encodes batches.
 * Results travel back as one packed transfer (no per-text copies).
 */
import { Piscina } from 'piscina';
import { loadFamily } from './families.js';
import type { BackendOptions, EncoderBackend, ModelSpec, TextKind } from './types.js';
import { packEmbeddings, type PackedEmbeddings } from './packing.js';

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

export default async function encode(task: EncodeTask): Promise<PackedEmbeddings> {
  const backend = await backendFor(task.spec, task.options);
  const packed = packEmbeddings(await backend.encode(task.texts, task.kind));
  // Hand the three buffers over to the main thread instead of copying them.
  const movable = {
    [Piscina.transferableSymbol]: [packed.vectors.buffer, packed.tokenIds.buffer, packed.lengths.buffer],
    [Piscina.valueSymbol]: packed,
  };
  return Piscina.move(movable as never) as unknown as PackedEmbeddings;
}
