/**
 * Unknown option keys are refused, not ignored: `search(q, { topk: 3 })` used to return 10 hits
 * without a word while the HTTP API refused the same typo (`additionalProperties: false`). Each
 * options type keeps its known keys in one table beside it, written
 * `{ ... } as const satisfies OptionKeys<XOptions>`: TypeScript then refuses to compile when a key
 * is added to the type and not to the table (a missing property) or the table names a key the type
 * lacks (an excess property), so the list cannot drift from the type.
 *
 * It sits in util/, below every stage, so that the encoder and format layers check their options
 * too without an import pointing up the stack (it lived in search/ until then).
 */
import { PlaitError } from '../errors/index.js';
import { editDistance } from './edit-distance.js';
import { OTHER_APIS_FIELDS, paginationHint } from './other-api-fields.js';

/** Every key of `T`, each set to true: the table `checkOptionKeys` reads. */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/** Edits (restricted Damerau–Levenshtein, case ignored) within which a known key is offered as the intended one. */
const SUGGEST_MAX_EDITS = 2;

/**
 * The known key `key` most likely meant: the same letters in another case (`topk` → `topK`), else
 * the nearest within SUGGEST_MAX_EDITS edits (ties: the first in the table); undefined when none is close.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = SUGGEST_MAX_EDITS + 1;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase(), SUGGEST_MAX_EDITS);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * The part of a wider options object that one callee takes: its keys present in `known`, undefined
 * values left out (as exactOptionalPropertyTypes wants). For handing on options already checked
 * against a wider table (CrossEncoder.create's to resolveCrossEncoder).
 */
export function pickOptions<T extends object>(options: object, known: OptionKeys<T>): T {
  return Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && Object.hasOwn(known, k))) as T;
}

/**
 * Refuses an options object holding a key its type does not have.
 * @param options the caller's options (undefined: nothing to check; anything but a plain object is
 *   refused as INVALID_ARGUMENT too, since its keys could not be read as options).
 * @param known the type's key table (OptionKeys).
 * @param what the options' name in messages, e.g. "search option".
 * @throws PlaitError INVALID_ARGUMENT: `unknown search option "topk" (did you mean "topK"?)` (another
 *   API's name: `limit` → "topK", `from` → "offset"; `page` says how to page with offset), with
 *   details `{ name, unknownOption, suggestion?, knownOptions }`.
 */
export function checkOptionKeys(options: unknown, known: Readonly<Record<string, true>>, what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected an object of ${what}s but received ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`, name: 'options' });
  }
  const knownKeys = Object.keys(known);
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(known, key)) continue;
    // Another API's name for a field these options have (`limit`, `from`: other-api-fields.ts), else a typo's nearest key.
    const other = OTHER_APIS_FIELDS[key];
    const suggestion = other !== undefined && Object.hasOwn(known, other) ? other : closestKey(key, knownKeys);
    const paging = suggestion === undefined && Object.hasOwn(known, 'topK') ? paginationHint(key, { offset: 'offset', topK: 'topK' }, Object.hasOwn(known, 'offset')) : '';
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `unknown ${what} "${key}"${suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : paging !== '' ? paging : ` (known: ${knownKeys.join(', ')})`}`,
      name: key,
      unknownOption: key,
      ...(suggestion === undefined ? {} : { suggestion }),
      knownOptions: knownKeys,
    });
  }
}
