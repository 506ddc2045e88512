/**
 * MessagePack through msgpackr, loaded at the first message packed or read (util/lazy-module.ts),
 * not at `import 'plait'`: only the cluster's wire (shard requests, write-log entries, tracked
 * writes) and the server's `application/msgpack` answers use it, and loading it (with its native
 * extractor) cost every program ~24 ms of CPU.
 */
import { lazyModule } from './lazy-module.js';

const msgpackr = lazyModule<typeof import('msgpackr')>('msgpackr');

/** msgpackr's `pack`: `value` as MessagePack bytes. */
export function pack(value: unknown): Buffer {
  return msgpackr().pack(value);
}

/** msgpackr's `unpack`: one MessagePack value from `bytes`. @throws Error when the bytes are not MessagePack. */
export function unpack(bytes: Buffer | Uint8Array): unknown {
  return msgpackr().unpack(bytes) as unknown;
}
