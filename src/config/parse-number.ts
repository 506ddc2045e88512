/**
 * One strict reading of numbers given as text: the CLI's option values (cli/options.ts
 * `parseIntArg`, `parseFloatArg`, and every other number a command line carries). JavaScript's
 * `Number(text)` takes far more than a user means: "0x10" is 16, "0b11" 3, "0o7" 7, "1e3" 1000 for
 * an integer option, " 12 " 12 and "" 0 — so `plait search -k 0x10` searched for 16 results and
 * `--port 1e3` listened on 1000. Here an integer is decimal digits with an optional sign (a sign
 * that makes a value out of range is refused by the range, which the message names), and a number
 * is a decimal with an optional fraction and exponent; nothing else.
 *
 * HTTP bodies are JSON, where `1e3` is a number equal to 1000 (JSON has one number type, and
 * JSON.parse gives the server the same value for `1000`, `1000.0` and `1e3`): an integer field
 * takes it. A string where an integer is expected ("0x10", "16") is refused by the route's schema
 * (the server does not coerce types: server/app.ts), with the field and its range named
 * (server/http-errors.ts).
 */
import { PlaitError, describe } from '../errors/index.js';

const DECIMAL_INTEGER = /^[+-]?\d+$/;
const DECIMAL_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** "an integer in [1, 10000]", "an integer >= 0": the range as messages and help texts name it. */
export function integerRange(min: number, max?: number): string {
  return max === undefined || max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
}

/**
 * Reads `text` as a decimal integer in [min, max] (max: Number.MAX_SAFE_INTEGER when absent).
 * @throws PlaitError INVALID_ARGUMENT "Expected an integer in [min, max] for NAME but received
 * "TEXT"", with `details` {name, min, max?, received}: anything but optionally signed decimal
 * digits ("0x10", "1e3", "1.0", " 5", ""), or a value out of the range.
 */
export function parseInteger(name: string, text: string, min: number, max?: number): number {
  const n = DECIMAL_INTEGER.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) throw outOfRange(name, integerRange(min, max), text, min, max);
  return n;
}

/**
 * Reads `text` as a finite decimal number (fraction and exponent allowed: "0.5", "5e-3") in
 * [min, max] (either bound optional).
 * @throws PlaitError INVALID_ARGUMENT naming `name` and the range: hexadecimal, binary, octal,
 * "Infinity", white space, an empty text, or a value out of the range.
 */
export function parseDecimal(name: string, text: string, min?: number, max?: number): number {
  const n = DECIMAL_NUMBER.test(text) ? Number(text) : NaN;
  const expected = min !== undefined && max !== undefined ? `a number in [${min}, ${max}]` : min !== undefined ? `a number >= ${min}` : max !== undefined ? `a number <= ${max}` : 'a number';
  if (!Number.isFinite(n) || (min !== undefined && n < min) || (max !== undefined && n > max)) throw outOfRange(name, expected, text, min, max);
  return n;
}

function outOfRange(name: string, expected: string, text: string, min: number | undefined, max: number | undefined): PlaitError {
  return new PlaitError('INVALID_ARGUMENT', {
    message: `Expected ${expected} for ${name} but received ${describe(text)}`,
    name,
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
    received: text,
  });
}
