/**
 * execArgv for plait's piscina worker threads. Piscina loads a worker file with `require()` first
 * and falls back to `import()`; on Node versions where require() of an ES module is on by default
 * (20.19+, 22.12+) that require() loads plait's ESM worker graph synchronously, and Node 20.20
 * aborted the whole process in it (FATAL ERROR "v8::Module::IsGraphAsync must be used on an
 * instantiated module", seen in CI with several replica processes starting their scoring pools at
 * once). `--no-experimental-require-module` makes that require() throw ERR_REQUIRE_ESM inside the
 * worker only, so piscina takes its import() path, the way ES modules are meant to be loaded.
 * Omitted on Node versions that do not know the flag (an unknown worker flag is an error there).
 *
 * The host's own flags go along, less those a worker refuses. A worker given `execArgv` explicitly
 * (as this must, to add the flag above) refuses V8 and per-process options — `--max-old-space-size`,
 * `--expose-gc`, `--title` — with ERR_WORKER_INVALID_EXEC_ARGV, where an inherited execArgv lets them
 * pass: an application run as `node --max-old-space-size=4096 app.js` could not load a model or open
 * an index with workers (every encoder pool failed to start). Which flags a worker takes is Node's
 * to say (it differs by version), so it is asked: the whole list is tried in a worker once, and
 * only if Node refuses it each option (a flag and the values after it) is tried alone. A refused
 * option is left out of the workers (a V8 heap limit applies to the process's main isolate; each
 * worker has its own default limits). The answer is computed once a process.
 */
import { Worker } from 'node:worker_threads';

const NO_REQUIRE_ESM = '--no-experimental-require-module';

let accepted: string[] | undefined;

/** The flags plait's workers start with: the host's that a worker accepts, then NO_REQUIRE_ESM where Node knows it. */
export function workerExecArgv(): string[] {
  accepted ??= acceptedByWorkers(process.execArgv.filter((a) => !a.startsWith('--experimental-require-module')));
  return process.allowedNodeEnvironmentFlags.has(NO_REQUIRE_ESM) ? [...accepted, NO_REQUIRE_ESM] : accepted;
}

/** `argv` less the options a worker refuses, in order. */
export function acceptedByWorkers(argv: readonly string[]): string[] {
  if (argv.length === 0 || workerAccepts(argv)) return [...argv];
  return optionGroups(argv)
    .filter((group) => workerAccepts(group))
    .flat();
}

/**
 * execArgv split into options: each `-` argument with the arguments after it that do not start with
 * `-` (its values, as in `--require ./hook.js` or `-C development`). execArgv holds node's own
 * options only (the script and its arguments are not in it), so a bare argument is always a value.
 */
export function optionGroups(argv: readonly string[]): string[][] {
  const groups: string[][] = [];
  for (const a of argv) {
    if (a.startsWith('-') || groups.length === 0) groups.push([a]);
    else groups.at(-1)!.push(a);
  }
  return groups;
}

/**
 * Whether Node starts a worker with `execArgv`: Node checks the list when the Worker is constructed,
 * before its thread runs anything; an accepted probe runs an empty script and is stopped at once.
 */
function workerAccepts(execArgv: readonly string[]): boolean {
  try {
    const probe = new Worker('', { eval: true, execArgv: [...execArgv], stdout: true, stderr: true });
    probe.on('error', () => {}); // a failure inside the probe (a --require hook's) is the workers' own to report
    probe.unref();
    void probe.terminate();
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_WORKER_INVALID_EXEC_ARGV') return false;
    throw err;
  }
}
