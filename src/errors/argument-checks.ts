/**
 * The guards a public function puts on its first lines, so that a plain-JavaScript caller's wrong
 * argument is a PlaitError INVALID_ARGUMENT naming the parameter ("Expected a string for text but
 * received 42"), refused before any model, file or network work — never a TypeError from deep
 * inside ("Cannot read properties of undefined (reading 'map')"). Each checker returns its value,
 * narrowed, so a guard is one line. test/public-api-arguments.test.ts calls every export of
 * src/index.ts with wrong arguments and holds every door to this rule.
 *
 * These check the shape a door needs to start (a string, an object, an array, a function, a typed
 * array); what the values inside mean is the function's own check, as before.
 */
import { invalidArgument } from './plait-error.js';

/** A string (empty allowed). @throws PlaitError INVALID_ARGUMENT. */
export function checkString(name: string, value: unknown, expected = 'a string'): string {
  if (typeof value !== 'string') throw invalidArgument(name, expected, value);
  return value;
}

/** A non-empty string: a path, a model name, an id. @throws PlaitError INVALID_ARGUMENT. */
export function checkNonEmptyString(name: string, value: unknown, expected = 'a non-empty string'): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(name, expected, value);
  return value;
}

/** An object (not null, not an array): a record, an options bag that must be given. @throws PlaitError INVALID_ARGUMENT. */
export function checkObject<T extends object = Record<string, unknown>>(name: string, value: unknown, expected = 'an object'): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(name, expected, value);
  return value as T;
}

/**
 * An object holding each of `keys` (not undefined, not null): the one-line check that a record
 * made elsewhere (a manifest, a codec, a connection) is one, so that `{}` is refused by name too.
 * @throws PlaitError INVALID_ARGUMENT ("Expected an IndexManifest (an object with settings) for manifest but received Object").
 */
export function checkShape<T extends object>(name: string, value: unknown, expected: string, keys: readonly string[]): T {
  const o = checkObject<Record<string, unknown>>(name, value, expected);
  for (const k of keys) if (o[k] === undefined || o[k] === null) throw invalidArgument(name, `${expected}, with ${keys.join(', ')}`, value);
  return value as T;
}

/** undefined, or an object (not null, not an array): an optional options bag. @throws PlaitError INVALID_ARGUMENT. */
export function checkOptions<T extends object>(name: string, value: T | undefined, expected = 'an options object'): T | undefined {
  if (value === undefined) return undefined;
  return checkObject<T>(name, value, `${expected} or undefined`);
}

/** An array. @throws PlaitError INVALID_ARGUMENT. */
export function checkArray<T = unknown>(name: string, value: unknown, expected = 'an array'): T[] {
  if (!Array.isArray(value)) throw invalidArgument(name, expected, value);
  return value as T[];
}

/** An array whose every item is a string. @throws PlaitError INVALID_ARGUMENT (naming `name[i]` for a bad item). */
export function checkStringArray(name: string, value: unknown, expected = 'an array of strings'): string[] {
  const a = checkArray(name, value, expected);
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'string') throw invalidArgument(`${name}[${i}]`, 'a string', a[i]);
  return a as string[];
}

/** An array of numbers or a typed array (a list of scores, latencies, vectors). @throws PlaitError INVALID_ARGUMENT. */
export function checkNumbers(name: string, value: unknown, expected = 'an array of numbers or a typed array'): ArrayLike<number> {
  if (!Array.isArray(value) && !(ArrayBuffer.isView(value) && !(value instanceof DataView))) throw invalidArgument(name, expected, value);
  return value as ArrayLike<number>;
}

/** A Map. @throws PlaitError INVALID_ARGUMENT. */
export function checkMap<K, V>(name: string, value: unknown, expected = 'a Map'): Map<K, V> {
  if (!(value instanceof Map)) throw invalidArgument(name, expected, value);
  return value as Map<K, V>;
}

/** Anything iterable but a string (an array, a Set, a Map's keys). @throws PlaitError INVALID_ARGUMENT. */
export function checkIterable<T>(name: string, value: unknown, expected = 'an iterable (an array or a Set)'): Iterable<T> {
  if (typeof value !== 'object' || value === null || typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') throw invalidArgument(name, expected, value);
  return value as Iterable<T>;
}

/** A function. @throws PlaitError INVALID_ARGUMENT. */
export function checkFunction<F extends (...args: never[]) => unknown>(name: string, value: unknown, expected = 'a function'): F {
  if (typeof value !== 'function') throw invalidArgument(name, expected, value);
  return value as F;
}

/** A finite number. @throws PlaitError INVALID_ARGUMENT. */
export function checkNumber(name: string, value: unknown, expected = 'a finite number'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArgument(name, expected, value);
  return value;
}

/** An instance of `type` (a typed array's constructor, a class). @throws PlaitError INVALID_ARGUMENT. */
export function checkInstance<T>(name: string, value: unknown, type: abstract new (...args: never[]) => T, expected = `a ${type.name}`): T {
  if (!(value instanceof type)) throw invalidArgument(name, expected, value);
  return value;
}
