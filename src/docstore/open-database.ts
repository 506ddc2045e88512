/**
 * Opening an SQLite file with better-sqlite3, with or without better-sqlite3's own compiled binding.
 *
 * better-sqlite3 gets its binding at install time, from its `install` script: a download from
 * GitHub (prebuild-install), else a compile (node-gyp, needs a C++ toolchain). Where neither can
 * run, it has none: npm 11 blocks dependency install scripts unless the project approves them;
 * `npm install --ignore-scripts` (what npm 10 users set, see README "Installing plait as a
 * dependency") skips them; a network that reaches only the npm registry fails the download and a
 * machine without a compiler fails the build. For those cases the plait package ships the binding
 * it was packed with (`npm run build:prebuilds`): native-kernels/sqlite-prebuilds/
 * `better-sqlite3@<version>-<platform>-<arch>-abi<NODE_MODULE_VERSION>.node`. better-sqlite3 is not
 * N-API, so a binding serves one better-sqlite3 version (pinned exactly in package.json) on one
 * Node major (ABI 115 = Node 20). Its own binding, when it has one, always wins.
 */
import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The folder of shipped bindings (this file is dist/src/docstore/open-database.js when it runs). */
const SQLITE_PREBUILDS = fileURLToPath(new URL('../../../native-kernels/sqlite-prebuilds/', import.meta.url));

/** The installed better-sqlite3's version (its package.json). */
function betterSqliteVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('better-sqlite3/package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The file name a shipped binding has for this better-sqlite3 version, platform, CPU and Node ABI. */
export function sqlitePrebuildName(version: string = betterSqliteVersion()): string {
  return `better-sqlite3@${version}-${process.platform}-${process.arch}-abi${process.versions.modules}.node`;
}

/** undefined: not decided yet; null: better-sqlite3's own binding loads; string: the shipped binding's path. */
let binding: string | null | undefined;

/** better-sqlite3 failed to find or load its own compiled binding (as opposed to failing to open a file). */
function isMissingBinding(e: unknown): boolean {
  const message = e instanceof Error ? e.message : '';
  const code = (e as { code?: unknown } | null)?.code;
  return /Could not locate the bindings file|better_sqlite3\.node/.test(message) || code === 'ERR_DLOPEN_FAILED';
}

/**
 * `new Database(path, options)` (a path, or a serialized database image), falling back to the binding shipped with plait when better-sqlite3
 * has none of its own. Throws better-sqlite3's errors unchanged (callers wrap them as
 * DOCSTORE_FAILED); when no binding exists at all, the error says what to install or approve.
 */
export function openDatabase(path: string | Buffer, options?: Database.Options): Database.Database {
  if (binding === undefined) {
    try {
      const db = new Database(path, options);
      binding = null;
      return db;
    } catch (e) {
      if (!isMissingBinding(e)) throw e;
      const shipped = SQLITE_PREBUILDS + sqlitePrebuildName();
      if (!existsSync(shipped)) {
        throw new Error(
          `better-sqlite3 has no compiled binding (${e instanceof Error ? e.message.split('\n')[0] : String(e)}) and plait ships none for ` +
            `${sqlitePrebuildName()}: let better-sqlite3's install script run (npm 11: npm install-scripts approve better-sqlite3, ` +
            'then npm rebuild better-sqlite3), with access to its GitHub release downloads or a C++ toolchain',
          { cause: e },
        );
      }
      binding = shipped;
    }
  }
  return binding === null ? new Database(path, options) : new Database(path, { ...options, nativeBinding: binding });
}

/** True when this process may not create files in `dir` (a read-only mount, another user's folder). */
function folderReadOnly(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return false;
  } catch {
    return true;
  }
}

/**
 * Opens a document store for reading. A store changed in place is in WAL mode, and SQLite opens a
 * WAL database only where it can create the `-shm` (and `-wal`) side files beside it — so on a
 * read-only folder (a read-only mount, an index served by a user who did not build it) every
 * search failed with DOCSTORE_FAILED "unable to open database file" once the index had taken one
 * write (a rollback-journal store, before schema 4, opened fine). There, and only there, the store
 * is read from an image in memory instead: its WAL flag is cleared (SQLite's file format, header
 * bytes 18–19: 2 = WAL, 1 = rollback; an in-memory database cannot be WAL), which is exact because
 * no writer can change a folder nobody may write (better-sqlite3 builds SQLite without URI names,
 * so `?immutable=1` is not available). The image costs the store's size in memory.
 * @throws better-sqlite3's errors unchanged (callers wrap them as DOCSTORE_FAILED).
 */
export function openStoreForReading(path: string): Database.Database {
  const db = openDatabase(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('journal_mode', { simple: true }); // the first read: where a WAL store without side files fails
    return db;
  } catch (e) {
    db.close();
    if ((e as { code?: unknown }).code !== 'SQLITE_CANTOPEN' || !folderReadOnly(dirname(path))) throw e;
    const image = readFileSync(path);
    if (image.length >= 20 && image[18] === 2 && image[19] === 2) {
      image[18] = 1;
      image[19] = 1;
    }
    return openDatabase(image, { readonly: true });
  }
}
