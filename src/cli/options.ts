import { relative } from 'node:path';
import { parseDecimal, parseInteger } from '../config/parse-number.js';
import { PlaitError, describe } from '../errors/index.js';

/**
 * commander argument parsers that fail with our error codes. `name` is the library's name for the
 * value (topK, nIvfProbe...), so that the CLI and the library word a refusal the same way:
 * "Expected an integer in [1, 10000] for topK but received "0"". Strict decimal: "0x10", "1e3"
 * and " 5" are refused (config/parse-number.ts says why).
 */
export function parseIntArg(name: string, min = 0, max?: number): (value: string) => number {
  return (value: string) => parseInteger(name, value, min, max);
}

export function parseFloatArg(name: string, min?: number, max?: number): (value: string) => number {
  return (value: string) => parseDecimal(name, value, min, max);
}

/**
 * A decimal option whose range has an open end ("a number > 0", "a number in (0, 1]"), which
 * parseDecimal's closed bounds cannot word: text that is no decimal number and a value outside the
 * range get one message, naming the range ("Expected a number > 0 for eta but received "x"";
 * before, "x" was only "Expected a number", and the range came in a second message for -1).
 * @throws PlaitError INVALID_ARGUMENT with `details` {name, received}.
 */
export function parseFloatArgIn(name: string, expected: string, inRange: (n: number) => boolean): (value: string) => number {
  return (value: string) => {
    let n = NaN;
    try {
      n = parseDecimal(name, value);
    } catch {
      // worded below, with the range
    }
    if (!inRange(n)) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected ${expected} for ${name} but received ${describe(value)}`, name, received: value });
    return n;
  };
}

/** "1–10000" for help texts. */
export function range(min: number, max?: number): string {
  return max === undefined ? `>= ${min}` : `${min}–${max}`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** "1 document", "2 documents", "0 documents": a count with its noun in the right number (util/plural.ts, which library messages use too). */
export { plural } from '../util/plural.js';

/**
 * How the user ran plait, for a hint's command line: "npx plait" through node_modules/.bin, "node
 * <script>" (relative to the working folder) when run as a script (`node bin/plait.js` in the
 * repository), else "plait" (installed on PATH).
 */
export function invokedAs(script: string = process.argv[1] ?? ''): string {
  if (/node_modules[\\/]\.bin[\\/]/.test(script)) return 'npx plait';
  if (/\.[cm]?js$/.test(script)) {
    const rel = relative(process.cwd(), script);
    return `node ${/\s/.test(rel) ? JSON.stringify(rel) : rel}`;
  }
  return 'plait';
}
