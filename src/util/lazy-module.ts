/**
 * A dependency loaded at its first use instead of at import. Every `plait` command imports the whole
 * index and encoder graph, and four packages in it serve only one kind of input: yaml and smol-toml
 * (a Markdown note's front matter), csv-parse (a CSV corpus), onnx-proto with protobufjs (converting
 * a checkpoint). Imported eagerly they were 110 of the CommonJS modules every `plait search` or
 * `plait info` loaded, and about a fifth of its start-up CPU (bench/RESULTS.md, "The CLI's start").
 *
 * The package is `require`d (each of the four ships a CommonJS build with the same API and types),
 * so a caller stays synchronous. Its type is the caller's `typeof import('pkg')`, checked by tsc as
 * any static import is.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A getter for `specifier`'s module: loaded on the first call, the same object afterwards.
 * @throws Error (MODULE_NOT_FOUND) on the first call when the package is not installed.
 */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
