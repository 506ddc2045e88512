/**
 * The real `plait serve` in a child process (bin/plait.js, JSON logs on stdout): start it on an
 * ephemeral loopback port, wait for its "ready" line, stop it with SIGTERM. Used by the drain test
 * and by the tests that drive the server with the clients people use (cohere-ai, LangChain, the AI SDK).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PLAIT_BIN = fileURLToPath(new URL('../../../bin/plait.js', import.meta.url));

/** Collects a child's stdout lines as JSON and resolves when one matches. */
export function lines(child: ChildProcess): (match: (o: any) => boolean) => Promise<any> {
  const seen: any[] = [];
  const waiting: { match: (o: any) => boolean; resolve: (o: any) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let o: any;
    try {
      o = JSON.parse(line);
    } catch {
      return;
    }
    seen.push(o);
    for (const w of waiting.filter((x) => x.match(o))) w.resolve(o);
  });
  return (match) => {
    const found = seen.find(match);
    return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiting.push({ match, resolve }));
  };
}

/**
 * Collects a child's stderr and resolves with all of it once `match` holds of what came so far:
 * a test waits for the line itself, not a fixed number of polls (which a loaded machine outruns).
 */
export function stderrUntil(child: ChildProcess, match: (stderr: string) => boolean): Promise<string> {
  let stderr = '';
  return new Promise((resolve) => {
    child.stderr!.on('data', (d: Buffer | string) => {
      stderr += d.toString();
      if (match(stderr)) resolve(stderr);
    });
  });
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export interface PlaitServe {
  url: string;
  child: ChildProcess;
  /** Every JSON log line seen so far that matches. */
  logged: (match: (o: any) => boolean) => Promise<any>;
  /** SIGTERM, then the exit (SIGKILL if it has not exited in 10 s). */
  stop(): Promise<{ code: number | null; signal: string | null }>;
}

/**
 * `plait serve <args…> --port 0` with one scoring worker; resolves once it logs "ready".
 * `env` is added to the child's environment (PLAIT_API_KEY is removed — no key — unless it names one; set but empty, it refuses to start).
 */
export async function startPlaitServe(args: string[], env: Record<string, string> = {}): Promise<PlaitServe> {
  const child = spawn(process.execPath, [PLAIT_BIN, 'serve', ...args, '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PLAIT_API_KEY: undefined, ...env } });
  const exit = exited(child);
  const logged = lines(child);
  const ready = await Promise.race([logged((o) => o.msg === 'ready'), exit.then((e) => Promise.reject(new Error(`plait serve exited before ready: ${JSON.stringify(e)}`)))]);
  return {
    url: ready.url as string,
    child,
    logged,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exit;
      } finally {
        clearTimeout(kill);
      }
    },
  };
}
