/**
 * A plain stand-in for the Hugging Face hub on 127.0.0.1 (ephemeral port) for the converter's pull
 * tests: serves /{org}/{name}/resolve/{rev}/{file} from memory, large files (weights) with the
 * sha256 ETag the hub sends for LFS files, 404 for anything else, and records every path asked for.
 * (test/hub.test.ts has the misbehaving hub for download faults; this one only serves.)
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface StaticHub {
  endpoint: string;
  /** Request paths, e.g. "/org/name/resolve/main/config.json". */
  requests: string[];
  close(): Promise<void>;
}

const LFS = /\.(safetensors|bin|onnx)$/;

export async function startStaticHub(repos: Record<string, Map<string, Buffer>>): Promise<StaticHub> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    requests.push(url);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(url);
    const body = m === null ? undefined : repos[m[1]!]?.get(m[2]!);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string | number> = { 'content-length': body.length };
    if (LFS.test(m![2]!)) headers['etag'] = `"${createHash('sha256').update(body).digest('hex')}"`;
    res.writeHead(200, headers).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every file under dir, keyed by its '/'-separated relative path. */
export async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (sub: string): Promise<void> => {
    for (const e of await readdir(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? e.name : `${sub}/${e.name}`;
      if (e.isDirectory()) await walk(rel);
      else out.set(rel, await readFile(path.join(dir, rel)));
    }
  };
  await walk('');
  return out;
}
