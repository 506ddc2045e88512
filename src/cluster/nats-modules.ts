/**
 * The NATS client's packages, loaded at the first cluster call (util/lazy-module.ts) instead of at
 * `import 'plait'`: @nats-io/transport-node, jetstream and obj are 71 CommonJS modules and ~70 ms of
 * CPU that every program importing the library (and every CLI command) had paid, cluster or not.
 * Types are imported statically where they are used (`import type`), which loads nothing.
 */
import { lazyModule } from '../util/lazy-module.js';

/** @nats-io/transport-node: `connect`, `headers`, `errors`. */
export const natsCore = lazyModule<typeof import('@nats-io/transport-node')>('@nats-io/transport-node');
/** @nats-io/jetstream: `jetstream`, `jetstreamManager`, its enums and `JetStreamApiError`. */
export const natsJetStream = lazyModule<typeof import('@nats-io/jetstream')>('@nats-io/jetstream');
/** @nats-io/obj: `Objm`, the object store the shard files travel in. */
export const natsObjectStore = lazyModule<typeof import('@nats-io/obj')>('@nats-io/obj');
