/**
 * Cluster processes for tests: replicas (`plait serve <index>/shard-<i> --nats <url>`, no HTTP)
 * and a coordinator (`plait serve --nats <url> --coordinate <name> --port 0`), each a real child
 * process that can be killed with any signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLAIT_BIN, exited, lines, startPlaitServe, type PlaitServe } from './plait-serve.js';
import { dataPath } from './requirements.js';

/**
 * The cluster tests' corpus: cranfield's first `docs` corpus lines (JSONL, as read) and its first
 * `queries` query texts, whitespace collapsed as the server's cache key normalises them.
 */
export function cranfieldSample(docs: number, queries: number): { lines: string[]; queries: string[] } {
  const read = (file: string): string[] => readFileSync(join(dataPath('cranfield'), file), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return {
    lines: read('corpus.jsonl').slice(0, docs),
    queries: read('queries.jsonl')
      .slice(0, queries)
      .map((l) => (JSON.parse(l) as { text: string }).text.trim().replace(/\s+/g, ' ')),
  };
}

export interface Replica {
  child: ChildProcess;
  shard: number;
  /** SIGKILL (no goodbye to NATS: the server notices the closed socket). */
  kill(): Promise<void>;
  /** SIGTERM: leaves the queue group, then exits. */
  stop(): Promise<void>;
}

/** Starts a replica of the shard at `shardPath` and resolves once it has joined (its "ready" line). */
export async function startReplica(shardPath: string, natsUrl: string): Promise<Replica> {
  const child = spawn(process.execPath, [PLAIT_BIN, 'serve', shardPath, '--nats', natsUrl, '--workers', '1'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PLAIT_API_KEY: undefined } });
  const exit = exited(child);
  const logged = lines(child);
  const ready = await Promise.race([logged((o) => o.msg === 'ready'), exit.then((e) => Promise.reject(new Error(`replica exited before ready: ${JSON.stringify(e)}`)))]);
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(t);
  };
  return { child, shard: ready.shard as number, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/** The coordinator of cluster `name` (a sharded index's folder) on an ephemeral port. */
export function startCoordinator(name: string, natsUrl: string, extra: string[] = []): Promise<PlaitServe> {
  return startPlaitServe(['--nats', natsUrl, '--coordinate', name, ...extra]);
}
