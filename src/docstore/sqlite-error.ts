/** Wrapping SQLite failures as DOCSTORE_FAILED, keeping the original as `cause`. */

import { PlaitError, isPlaitError } from '../errors/index.js';

export function docstoreError(action: string, path: string, cause: unknown): PlaitError {
  if (isPlaitError(cause)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  return new PlaitError(
    'DOCSTORE_FAILED',
    { message: `${action} (${path}): ${detail}`, path, ...(typeof code === 'string' ? { sqliteCode: code } : {}) },
    { cause },
  );
}

/** Runs `fn`, rethrowing any non-PlaitError as DOCSTORE_FAILED. */
export function guarded<T>(action: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw docstoreError(action, path, e);
  }
}
