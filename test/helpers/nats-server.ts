/**
 * A NATS server with JetStream for the cluster tests: Debian's `nats-server` (2.9; $PLAIT_NATS_SERVER
 * when set) started as `nats-server -js -a 127.0.0.1 -p <free port> -sd <temporary store>`, ready
 * when it logs "Server is ready". `needsNatsServer()` follows requirements.ts: in CI a missing
 * program fails the test (.ci/run installs it), elsewhere the test is skipped with the reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inCi } from './requirements.js';

const PROGRAM = process.env.PLAIT_NATS_SERVER ?? 'nats-server';

/** `false` when nats-server runs or in CI (where its absence fails the test), else the skip reason. */
export function needsNatsServer(): string | false {
  const found = spawnSync(PROGRAM, ['--version'], { stdio: 'ignore' }).error === undefined;
  if (found || inCi()) return false;
  return `"${PROGRAM}" was not found (apt-get install nats-server; in CI this fails)`;
}

export interface NatsServer {
  url: string;
  port: number;
  /** The JetStream store folder (kept across `restart`). */
  storeDir: string;
  /** Stops the server (SIGTERM, then waits for it); the store stays until `dispose`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops it and removes the store. */
  dispose(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function launch(port: number, storeDir: string, extra: readonly string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROGRAM, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not become ready in 10 s:\n${log}`));
    }, 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve(child);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited ${code}:\n${log}`));
    });
  });
}

/** Starts a JetStream server on a free loopback port with a fresh temporary store. `extra`: more flags (e.g. `-c <config>`). */
export async function startNatsServer(extra: readonly string[] = []): Promise<NatsServer> {
  const storeDir = mkdtempSync(join(tmpdir(), 'plait-nats-'));
  const port = await freePort();
  let child: ChildProcess | null = await launch(port, storeDir, extra);
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop,
    async restart() {
      await stop();
      child = await launch(port, storeDir, extra);
    },
    async dispose() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
