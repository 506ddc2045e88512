/**
 * execArgv for plait's piscina worker threads. Piscina loads a worker file with `require()` first
 * and falls back to `import()`; on Node versions where require() of an ES module is on by default
 * (20.19+, 22.12+) that require() loads plait's ESM worker graph synchronously, and Node 20.20
 * aborted the whole process in it (FATAL ERROR "v8::Module::IsGraphAsync must be used on an
 * instantiated module", seen in CI with several replica processes starting their scoring pools at
 * once). `--no-experimental-require-module` makes that require() throw ERR_REQUIRE_ESM inside the
 * worker only, so piscina takes its import() path, the way ES modules are meant to be loaded.
 * Omitted on Node versions that do not know the flag (an unknown worker flag is an error there).
 */
const NO_REQUIRE_ESM = '--no-experimental-require-module';

export function workerExecArgv(): string[] {
  const own = process.execArgv.filter((a) => !a.startsWith('--experimental-require-module'));
  return process.allowedNodeEnvironmentFlags.has(NO_REQUIRE_ESM) ? [...own, NO_REQUIRE_ESM] : own;
}
