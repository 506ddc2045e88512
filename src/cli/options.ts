import { invalidArgument } from '../errors/index.js';

/** commander argument parsers that fail with our error codes. */
export function parseIntArg(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw invalidArgument(name, `an integer >= ${min}`, value);
    return n;
  };
}

export function parseFloatArg(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw invalidArgument(name, 'a number', value);
    return n;
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
