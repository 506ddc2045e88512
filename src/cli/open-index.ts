/**
 * `openIndex` for the commands that take `--model` over an existing index (search, explain, eval,
 * ltr): a MODEL_MISMATCH there is the flag's doing, so the error gets the way out as its hint.
 */
import { isPlaitError } from '../errors/index.js';
import { openIndex, type OpenIndexOptions, type PlaitIndex } from '../search/plait-index.js';
import { withHint } from './report-error.js';
import type { Engine } from '../server/engine.js';

/**
 * Opens the index; with `options.model`, also loads that model now (the library loads it at the
 * first search), so that a model that does not fit the index is refused before any other work.
 * @throws PlaitError as openIndex; MODEL_MISMATCH with a hint when `options.model` was given.
 */
export async function openIndexForCli(name: string, options: OpenIndexOptions = {}): Promise<PlaitIndex> {
  const index = await openIndex(name, options);
  if (options.model === undefined) return index;
  try {
    await index.encoder();
    return index;
  } catch (err) {
    await index.close().catch(() => {});
    if (options.model !== undefined && isPlaitError(err, 'MODEL_MISMATCH')) {
      throw withHint(
        err,
        `--model ${options.model} is not the model this index was built with: leave out --model to use the index's own, or build an index with this model (plait index <corpus> --index <new name> --model ${options.model})`,
      );
    }
    throw err;
  }
}

/** The query tokens the index's model keeps (its query window); a longer query is clipped (`truncated`). */
export function queryTokensKept(index: PlaitIndex): number {
  return index.manifest.model.queryWindow ?? index.manifest.model.queryMaxlen;
}

/** The warning `plait search` and `plait explain` print when the query was clipped to the model's query window (`truncated`). */
export function truncatedQueryWarning(index: PlaitIndex, verb: 'searched' | 'explained'): string {
  return `plait: warning: the query has more tokens than the model keeps (${queryTokensKept(index)}); only the first were ${verb}\n`;
}

/** `plait serve`'s start: a `plait: warning:` line for each served index its --ltr-model was not trained on (Engine.ltrWarnings). */
export function warnLtrModelIndexes(engine: Pick<Engine, 'ltrWarnings' | 'options'>): void {
  for (const w of engine.ltrWarnings) process.stderr.write(`plait: warning: --ltr-model ${engine.options.ltrModel ?? ''} on index ${w.index}: ${w.message}\n`);
}
