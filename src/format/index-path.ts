import { isAbsolute, join, resolve } from 'node:path';

/** Default home of indexes; `PLAIT_INDEX_DIR` overrides. */
export function indexHome(): string {
  return resolve(process.env.PLAIT_INDEX_DIR ?? 'indexes');
}

/** A bare name ("scifact") lives under the index home; anything path-like is used as given. */
export function resolveIndexPath(nameOrPath: string): string {
  if (isAbsolute(nameOrPath) || /[\\/]/.test(nameOrPath) || nameOrPath.startsWith('.')) return resolve(nameOrPath);
  return join(indexHome(), nameOrPath);
}
