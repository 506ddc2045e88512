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
import { existsSync, readFileSync } from 'node:fs';
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
