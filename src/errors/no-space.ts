/**
 * A full disk or quota, recognised wherever it surfaces: Node's errno codes (ENOSPC, EDQUOT) and
 * SQLite's SQLITE_FULL, on the error or anywhere in its `cause` chain (a PlaitError may wrap it).
 * The server answers it 507 NO_SPACE (server/http-errors.ts) and the CLI prints it as one line
 * with its code (cli/report-error.ts); both had shown a raw ENOSPC (a 500, a stack trace).
 */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** The no-space code (ENOSPC, EDQUOT, SQLITE_FULL) found on `err` or its causes, at most 8 deep; undefined when none. */
export function noSpaceCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NO_SPACE_CODES.has(code)) return code;
  }
  return undefined;
}
