import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cachedModel, pullModel, type PullProgress } from '../src/encoder/hub/index.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { isPlaitError, type ErrorCode } from '../src/errors/index.js';
import { HUB_DEFAULTS } from '../src/config/defaults.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
// ---- A local stand-in for the hub ----
/**
 * A local stand-in for the Hugging Face hub on 127.0.0.1 (ephemeral port): serves
 * /{org}/{name}/resolve/{rev}/{file}, large files ("LFS", here model.onnx) through a redirect whose
 * first hop carries X-Linked-Etag (sha256) and X-Linked-Size like the real hub, with Range support
 * and switches for misbehaviour: cut the connection mid-body, ignore Range, serve corrupt bytes.
 */

export interface FakeHubRequest {
  path: string;
  range: string | undefined;
  authorization: string | undefined;
}

export interface FakeHubBehaviour {
  /** Cut the connection after this many body bytes on the next `cutCount` requests of an LFS file. */
  cutAfter: number;
  cutCount: number;
  /**
   * Needed with `cutCount`: the cut waits until this says the client has stored the bytes sent (or
   * let go; polled every 5 ms), never a fixed delay: a reset discards bytes the client has not read
   * yet, and on a loaded machine no fixed delay is long enough.
   */
  cutWhen?: () => boolean;
  ignoreRange: boolean;
  /** Serve these bytes for LFS files while announcing the true hash. */
  corrupt: boolean;
}

export interface FakeHub {
  endpoint: string;
  requests: FakeHubRequest[];
  behaviour: FakeHubBehaviour;
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

/**
 * repos: "org/name" (its main) or "org/name@revision" → (file path → bytes). Files ending in .onnx
 * are served as LFS files. Like the real hub, an unknown repository is 401 RepoNotFound and an
 * unknown revision of a known one 404 RevisionNotFound (X-Error-Code); a `gated` repository admits only
 * GOOD_TOKEN (401 GatedRepo without a token, 403 with another).
 */
/** The token a gated repository admits. */
export const GOOD_TOKEN = 'Bearer hf_good';

export async function startFakeHub(repos: Record<string, Record<string, Uint8Array>>, gated: ReadonlySet<string> = new Set()): Promise<FakeHub> {
  const requests: FakeHubRequest[] = [];
  const behaviour: FakeHubBehaviour = { cutAfter: 0, cutCount: 0, ignoreRange: false, corrupt: false };
  const lfs = new Map<string, Uint8Array>();
  for (const files of Object.values(repos)) {
    for (const [file, bytes] of Object.entries(files)) if (file.endsWith('.onnx')) lfs.set(sha256(bytes), bytes);
  }

  const serveBody = (req: http.IncomingMessage, res: http.ServerResponse, bytes: Uint8Array, etag: string, isLfs: boolean): void => {
    let body = bytes;
    if (isLfs && behaviour.corrupt) {
      body = Uint8Array.from(bytes);
      body[body.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (range !== null && !behaviour.ignoreRange) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { etag: `"${etag}"`, 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { etag: `"${etag}"`, 'content-length': body.length });
    }
    const rest = body.subarray(start);
    if (isLfs && behaviour.cutCount > 0) {
      behaviour.cutCount--;
      // The reset comes once the client has the bytes: a reset discards bytes it has not read yet.
      const cutWhen = behaviour.cutWhen;
      if (cutWhen === undefined) throw new Error('FakeHubBehaviour: cutCount needs cutWhen');
      res.write(rest.subarray(0, behaviour.cutAfter), () => {
        const poll = setInterval(() => {
          if (!cutWhen()) return;
          clearInterval(poll);
          res.socket?.destroy();
        }, 5);
        res.once('close', () => clearInterval(poll));
      });
      return;
    }
    res.end(rest);
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    requests.push({ path: url, range: req.headers.range, authorization: req.headers.authorization });
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url);
    if (cdn !== null) {
      const bytes = lfs.get(cdn[1]!);
      if (bytes === undefined) {
        res.writeHead(404).end();
        return;
      }
      // The CDN's own ETag is not a sha256 (S3 gives an MD5), so only the first hop's header verifies.
      serveBody(req, res, bytes, 'cdn-etag-not-a-sha', true);
      return;
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (m === null || repos[m[1]!] === undefined) {
      // The real hub's answer for a repository it does not have (or will not admit to): 401.
      res.writeHead(401, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Repository not found' }).end();
      return;
    }
    if (gated.has(m[1]!) && req.headers.authorization !== GOOD_TOKEN) {
      // A gated repository: 401 without a token, 403 with one whose account has not accepted its conditions.
      const status = req.headers.authorization === undefined ? 401 : 403;
      res.writeHead(status, { 'x-error-code': 'GatedRepo', 'x-error-message': `Access to model ${m[1]!} is restricted.` }).end();
      return;
    }
    const revision = decodeURIComponent(m[2]!);
    const files = revision === 'main' ? repos[m[1]!] : repos[`${m[1]!}@${revision}`];
    if (files === undefined) {
      res.writeHead(404, { 'x-error-code': 'RevisionNotFound', 'x-error-message': `Invalid rev id: ${revision}` }).end();
      return;
    }
    const file = decodeURIComponent(m[3]!);
    const bytes = files[file];
    if (bytes === undefined) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
      return;
    }
    if (file.endsWith('.onnx')) {
      const digest = sha256(bytes);
      res.writeHead(302, { location: `/cdn/${digest}`, 'x-linked-etag': `"${digest}"`, 'x-linked-size': String(bytes.length), etag: `"${sha1(bytes)}"` });
      res.end();
      return;
    }
    serveBody(req, res, bytes, sha1(bytes), false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    behaviour,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- Tests ----

const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
/** The CLI in a child process, asynchronously: the stand-in hub answers from this process's event loop. */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

const REPO = 'acme/tiny-colbert';
let root: string;
let source: Record<string, Uint8Array>;
let hub: FakeHub;
let cacheDir: string;
let n = 0;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plait-hub-'));
  const model = path.join(root, 'source');
  // A larger hidden size makes model.onnx ~200 KB, enough to cut mid-body.
  await makeTinyColbert(model, { dim: 16, hidden: 96 });
  source = {};
  for (const f of readdirSync(model)) source[f] = new Uint8Array(await readFile(path.join(model, f)));
  hub = await startFakeHub({ [REPO]: source, [`${REPO}@v2`]: source, [`${REPO}@refs/pr/1`]: source, 'acme/gated': source, 'acme/no-onnx': { 'tokenizer.json': source['tokenizer.json']! } }, new Set(['acme/gated']));
});

after(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  cacheDir = path.join(root, `cache-${n++}`);
  hub.requests.length = 0;
  Object.assign(hub.behaviour, { cutAfter: 0, cutCount: 0, ignoreRange: false, corrupt: false, cutWhen: undefined });
});

const modelPath = (): string => path.join(cacheDir, 'acme--tiny-colbert', 'main', 'model.onnx');
const partSize = (): number => {
  try {
    return statSync(`${modelPath()}.part`).size;
  } catch {
    return 0;
  }
};
const onnxRequests = (): FakeHubRequest[] => hub.requests.filter((r) => r.path.startsWith('/cdn/'));

async function assertSameAsSource(dir: string): Promise<void> {
  for (const f of ['model.onnx', 'tokenizer.json', 'artifact.metadata', 'config.json']) {
    assert.deepEqual(new Uint8Array(await readFile(path.join(dir, f))), source[f], f);
  }
}

describe('pullModel', () => {
  test('fresh download: the files a layout needs, verified, with progress; then reused with no request', async () => {
    const progress: PullProgress[] = [];
    const pulled = await pullModel(REPO, { cacheDir, endpoint: hub.endpoint, onProgress: (p) => progress.push(p) });
    assert.equal(pulled.fromCache, false);
    assert.equal(pulled.dir, path.join(cacheDir, 'acme--tiny-colbert', 'main'));
    assert.deepEqual(pulled.files.map((f) => f.file).sort(), ['artifact.metadata', 'config.json', 'model.onnx', 'tokenizer.json']);
    await assertSameAsSource(pulled.dir);
    const onnx = pulled.files.find((f) => f.file === 'model.onnx')!;
    assert.equal(onnx.sha256, createHash('sha256').update(source['model.onnx']!).digest('hex'));
    const last = progress.filter((p) => p.file === 'model.onnx').at(-1)!;
    assert.equal(last.bytesDone, source['model.onnx']!.length);
    assert.equal(last.bytesTotal, source['model.onnx']!.length);
    assert.ok(!readdirSync(pulled.dir).some((f) => f.endsWith('.part')));

    const before = hub.requests.length;
    const again = await pullModel(REPO, { cacheDir, endpoint: hub.endpoint });
    assert.equal(again.fromCache, true);
    assert.equal(hub.requests.length, before);
    // resolveModelSpec finds the cached copy (offline, so a request would be an error) and it encodes.
    const spec = await resolveModelSpec(REPO, { cacheDir, offline: true });
    assert.deepEqual(spec, { family: 'colbert-onnx', dir: pulled.dir, name: REPO });
    const enc = await createEncoder(spec, { threads: 0 });
    try {
      const [d] = await enc.encodeDocuments(['hello world']);
      assert.equal(d!.length, 5);
    } finally {
      await enc.close();
    }
    assert.equal(hub.requests.length, before);
  });

  test('a connection cut mid-body is resumed with a Range request', async () => {
    hub.behaviour.cutAfter = 50_000;
    hub.behaviour.cutCount = 1;
    hub.behaviour.cutWhen = () => partSize() >= 50_000;
    const pulled = await pullModel(REPO, { cacheDir, endpoint: hub.endpoint });
    await assertSameAsSource(pulled.dir);
    const reqs = onnxRequests();
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]!.range, undefined);
    assert.equal(reqs[1]!.range, 'bytes=50000-');
  });

  test('a .part left by an earlier run is resumed (206) and verified', async () => {
    await mkdir(path.dirname(modelPath()), { recursive: true });
    await writeFile(`${modelPath()}.part`, source['model.onnx']!.subarray(0, 1000));
    await pullModel(REPO, { cacheDir, endpoint: hub.endpoint });
    assert.equal(onnxRequests()[0]!.range, 'bytes=1000-');
    assert.deepEqual(new Uint8Array(await readFile(modelPath())), source['model.onnx']);
  });

  test('a server that ignores Range (200) restarts the file instead of appending', async () => {
    hub.behaviour.ignoreRange = true;
    await mkdir(path.dirname(modelPath()), { recursive: true });
    await writeFile(`${modelPath()}.part`, new Uint8Array(1000).fill(7));
    await pullModel(REPO, { cacheDir, endpoint: hub.endpoint });
    assert.equal(onnxRequests()[0]!.range, 'bytes=1000-');
    assert.deepEqual(new Uint8Array(await readFile(modelPath())), source['model.onnx']);
  });

  test('bytes that do not match the announced sha256 are DOWNLOAD_CORRUPT and removed', async () => {
    hub.behaviour.corrupt = true;
    await assert.rejects(pullModel(REPO, { cacheDir, endpoint: hub.endpoint }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'DOWNLOAD_CORRUPT'), String(e));
      return true;
    });
    assert.ok(!existsSync(modelPath()));
    assert.ok(!existsSync(`${modelPath()}.part`));
  });

  test('offline with nothing cached is OFFLINE, naming the alternatives, without a request', async () => {
    await assert.rejects(pullModel(REPO, { cacheDir, endpoint: hub.endpoint, offline: true }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'OFFLINE'));
      // A library reader has no flags (the CLI adds --model as its hint: advice-model-by-door.test.ts).
      assert.match((e as Error).message, /a local model folder or the bundled model/);
      assert.doesNotMatch((e as Error).message, /--model/);
      assert.match((e as Error).message, /online/);
      return true;
    });
    process.env['PLAIT_OFFLINE'] = '1';
    try {
      await assert.rejects(pullModel(REPO, { cacheDir, endpoint: hub.endpoint }), (e: unknown) => isPlaitError(e, 'OFFLINE'));
    } finally {
      delete process.env['PLAIT_OFFLINE'];
    }
    assert.equal(hub.requests.length, 0);
  });

  test('a repo without an ONNX graph is MODEL_NOT_FOUND; an unreachable hub is DOWNLOAD_FAILED', async () => {
    await assert.rejects(pullModel('acme/no-onnx', { cacheDir, endpoint: hub.endpoint }), (e: unknown) => isPlaitError(e, 'MODEL_NOT_FOUND'));
    // Port 9 on localhost: connection refused, retried, then reported (a retry loop that never
    // gives up hangs here and fails by the test's timeout, not by a wall-clock budget).
    await assert.rejects(pullModel(REPO, { cacheDir, endpoint: 'http://127.0.0.1:9' }), (e: unknown) => isPlaitError(e, 'DOWNLOAD_FAILED'));
  });

  test('a cancelled pull is ABORTED at once and keeps its .part for the next run', async () => {
    hub.behaviour.cutAfter = 50_000;
    hub.behaviour.cutCount = 1;
    const controller = new AbortController();
    // The user cancels while the client waits for the rest of the body: once the first 50,000 bytes
    // are on disk the server stalls and the pull is cancelled. (This test cancelled from onProgress,
    // which comes every 4 MiB: the pull stalled until its 60 s timeout, was retried from the .part,
    // and only then cancelled; the test took a minute and never saw a cancel of a stalled read.)
    // ABORTED must come well before that timeout.
    hub.behaviour.cutWhen = () => {
      if (partSize() >= 50_000 && !controller.signal.aborted) controller.abort();
      return false;
    };
    const started = performance.now();
    const pull = pullModel(REPO, { cacheDir, endpoint: hub.endpoint, signal: controller.signal });
    await assert.rejects(pull, (e: unknown) => isPlaitError(e, 'ABORTED'));
    const tookMs = performance.now() - started;
    assert.ok(tookMs < HUB_DEFAULTS.timeoutMs / 4, `ABORTED after ${Math.round(tookMs)} ms: the cancel waited for the stalled body`);
    const part = await readFile(`${modelPath()}.part`);
    assert.equal(part.length, 50_000);
    await pullModel(REPO, { cacheDir, endpoint: hub.endpoint });
    assert.equal(onnxRequests().at(-1)!.range, 'bytes=50000-');
    assert.deepEqual(new Uint8Array(await readFile(modelPath())), source['model.onnx']);
  });

  test('HF_TOKEN goes to the hub as a Bearer token', async () => {
    process.env['HF_TOKEN'] = 'hf_test';
    try {
      await pullModel(REPO, { cacheDir, endpoint: hub.endpoint });
    } finally {
      delete process.env['HF_TOKEN'];
    }
    assert.ok(hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.authorization === 'Bearer hf_test'));
  });

  test('"org/name@revision" pulls that revision, from the library and `plait model pull`; two revisions that differ are refused', async () => {
    // `--model org/name@v2` took the revision while `plait model pull org/name@v2` was INVALID_ARGUMENT ("Expected a hub repo id").
    const pulled = await pullModel(`${REPO}@v2`, { cacheDir, endpoint: hub.endpoint });
    assert.equal(pulled.revision, 'v2');
    assert.equal(pulled.dir, path.join(cacheDir, 'acme--tiny-colbert', 'v2'));
    const resolves = hub.requests.filter((r) => r.path.includes('/resolve/'));
    assert.ok(resolves.length > 0 && resolves.every((r) => r.path.startsWith(`/${REPO}/resolve/v2/`)), resolves.map((r) => r.path).join(' '));
    assert.equal(cachedModel(`${REPO}@v2`, { cacheDir })?.dir, pulled.dir);
    await assert.rejects(pullModel(`${REPO}@v2`, { cacheDir, endpoint: hub.endpoint, revision: 'main' }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'), String(e));
      assert.match((e as Error).message, /"v2".*"main"/);
      return true;
    });
    const cliCache = path.join(root, `cache-cli-${n++}`);
    const env = { HF_ENDPOINT: hub.endpoint, PLAIT_CACHE_DIR: cliCache };
    const ok = await runCli(['model', 'pull', `${REPO}@v2`, '--json'], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { revision: string }).revision, 'v2');
    assert.ok(existsSync(path.join(cliCache, 'acme--tiny-colbert', 'v2', 'model.onnx')));
    const both = await runCli(['model', 'pull', `${REPO}@v2`, '--revision', 'main'], env);
    assert.equal(both.status, 2, both.stderr);
    assert.match(both.stderr, /INVALID_ARGUMENT/);
  });

  test('a revision holding "/" (refs/pr/1): pulled with its "/" encoded in the URL, into one escaped folder; then indexed and searched', async () => {
    // repoCacheDir refused it (INVALID_ARGUMENT) and `--model org/name@refs/pr/1` looked like a path (MODEL_NOT_FOUND).
    const pulled = await pullModel(`${REPO}@refs/pr/1`, { cacheDir, endpoint: hub.endpoint });
    assert.equal(pulled.revision, 'refs/pr/1');
    assert.equal(pulled.dir, path.join(cacheDir, 'acme--tiny-colbert', 'refs%2Fpr%2F1'));
    await assertSameAsSource(pulled.dir);
    const resolves = hub.requests.filter((r) => r.path.includes('/resolve/'));
    assert.ok(resolves.length > 0 && resolves.every((r) => r.path.startsWith(`/${REPO}/resolve/refs%2Fpr%2F1/`)), resolves.map((r) => r.path).join(' '));
    assert.equal(cachedModel(REPO, { cacheDir, revision: 'refs/pr/1' })?.dir, pulled.dir);
    await assert.rejects(pullModel(`${REPO}@refs/pr/9`, { cacheDir, endpoint: hub.endpoint }), (e: unknown) => isPlaitError(e, 'MODEL_NOT_FOUND') && /no revision "refs\/pr\/9" of acme\/tiny-colbert/.test(e.message));
    for (const bad of ['refs//pr', '/refs/pr/1', 'refs/pr/', 'a%2Fb', 'refs/../x', 'a b']) {
      assert.throws(() => cachedModel(`${REPO}@${bad}`, { cacheDir }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'), bad);
    }
    // The CLI: `--revision refs/pr/1`, then index and search with `--model org/name@refs/pr/1`, offline.
    const cliCache = path.join(root, `cache-cli-${n++}`);
    const env = { HF_ENDPOINT: hub.endpoint, PLAIT_CACHE_DIR: cliCache };
    const pull = await runCli(['model', 'pull', REPO, '--revision', 'refs/pr/1', '--json'], env);
    assert.equal(pull.status, 0, pull.stderr);
    assert.equal((JSON.parse(pull.stdout) as { dir: string }).dir, path.join(cliCache, 'acme--tiny-colbert', 'refs%2Fpr%2F1'));
    const corpus = path.join(root, `corpus-${n++}.jsonl`);
    await writeFile(corpus, ['bread and butter', 'yeast makes dough rise', 'stocks fell'].map((text, i) => JSON.stringify({ _id: `d${i}`, text })).join('\n'));
    const index = path.join(root, `index-${n++}`);
    const offline = { ...env, PLAIT_OFFLINE: '1' };
    const built = await runCli(['index', corpus, '--index', index, '--model', `${REPO}@refs/pr/1`, '--threads', '0', '-q'], offline);
    assert.equal(built.status, 0, built.stderr);
    const found = await runCli(['search', index, 'dough rising', '--json'], offline);
    assert.equal(found.status, 0, found.stderr);
    assert.equal((JSON.parse(found.stdout) as { hits: unknown[] }).hits.length, 3);
  });

  test('the hub refusing a repository, a revision or a token says which, and leaves nothing in the cache', async () => {
    // Every refusal read "HTTP 401 for …/model.onnx (a gated or private repo needs HF_TOKEN)", even with
    // HF_TOKEN set, and an unknown revision read "has no ONNX graph … and no config.json to build one from".
    const refused = async (ref: string, code: ErrorCode, message: RegExp, not?: RegExp): Promise<void> => {
      await assert.rejects(pullModel(ref, { cacheDir, endpoint: hub.endpoint }), (e: unknown) => {
        assert.ok(isPlaitError(e, code), String(e));
        assert.match((e as Error).message, message);
        if (not !== undefined) assert.doesNotMatch((e as Error).message, not);
        return true;
      });
    };
    await refused('acme/nothere', 'MODEL_NOT_FOUND', /no repository acme\/nothere on http.*Repository not found/);
    await refused(`${REPO}@nope`, 'MODEL_NOT_FOUND', /no revision "nope" of acme\/tiny-colbert/, /ONNX graph/);
    await refused('acme/gated', 'DOWNLOAD_FAILED', /acme\/gated is a gated repository: accept its conditions on http:\/\/127\.0\.0\.1:\d+\/acme\/gated, then set HF_TOKEN/);
    process.env['HF_TOKEN'] = 'hf_other';
    try {
      await refused('acme/gated', 'DOWNLOAD_FAILED', /HF_TOKEN was sent but .*accept the repository's conditions.*Access to model acme\/gated is restricted/, /set HF_TOKEN/);
    } finally {
      delete process.env['HF_TOKEN'];
    }
    assert.ok(!existsSync(cacheDir), `a refused pull left ${existsSync(cacheDir) ? readdirSync(cacheDir).join(', ') : ''} in the cache`);
    process.env['HF_TOKEN'] = GOOD_TOKEN.slice('Bearer '.length);
    try {
      assert.equal((await pullModel('acme/gated', { cacheDir, endpoint: hub.endpoint })).fromCache, false);
    } finally {
      delete process.env['HF_TOKEN'];
    }
  });

  test('pulling a cached model again re-fetches only the files that no longer match what was pulled; offline it says which', async () => {
    // A damaged cache file (a flipped byte, a truncated graph) made the model fail to load while
    // `plait model pull` answered from the cache without looking: rm -rf of the folder was the only way out.
    const pulled = await pullModel(REPO, { cacheDir, endpoint: hub.endpoint });
    const tokenizer = path.join(pulled.dir, 'tokenizer.json');
    const bytes = await readFile(tokenizer);
    bytes[bytes.length >> 1] ^= 0x01;
    await writeFile(tokenizer, bytes);
    await writeFile(modelPath(), source['model.onnx']!.subarray(0, 100));
    await assert.rejects(pullModel(REPO, { cacheDir, endpoint: hub.endpoint, offline: true }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'DOWNLOAD_CORRUPT'), String(e));
      assert.match((e as Error).message, /model\.onnx, tokenizer\.json in .* differ from what was pulled/);
      return true;
    });
    hub.requests.length = 0;
    const repaired = await pullModel(REPO, { cacheDir, endpoint: hub.endpoint });
    assert.equal(repaired.fromCache, false);
    await assertSameAsSource(repaired.dir);
    const fetched = hub.requests.filter((r) => r.path.includes('/resolve/')).map((r) => r.path.split('/resolve/main/')[1]);
    assert.ok(fetched.includes('model.onnx') && fetched.includes('tokenizer.json'), fetched.join(' '));
    assert.ok(!fetched.includes('config.json') && !fetched.includes('artifact.metadata'), `intact files were fetched again: ${fetched.join(' ')}`);
    assert.deepEqual(repaired.files.map((f) => f.file).sort(), pulled.files.map((f) => f.file).sort());
    assert.equal((await pullModel(REPO, { cacheDir, endpoint: hub.endpoint })).fromCache, true);
  });

  test('a pulled file that fails to load (corrupt tokenizer.json, truncated model.onnx, config.json not JSON) names `plait model pull <id>` / pullModel, which repairs it', async () => {
    // Each surfaced as MODEL_LOAD_FAILED (a truncated graph on search: MODEL_MISMATCH, "built with acme/tiny-colbert, not acme/tiny-colbert") without the way out.
    const cliCache = path.join(root, `cache-cli-${n++}`);
    const env = { HF_ENDPOINT: hub.endpoint, PLAIT_CACHE_DIR: cliCache };
    const offline = { ...env, PLAIT_OFFLINE: '1' };
    const pulled = await pullModel(REPO, { cacheDir: cliCache, endpoint: hub.endpoint });
    const corpus = path.join(root, `corpus-${n++}.jsonl`);
    await writeFile(corpus, ['bread and butter', 'yeast makes dough rise', 'stocks fell'].map((text, i) => JSON.stringify({ _id: `d${i}`, text })).join('\n'));
    const index = path.join(root, `index-${n++}`);
    const built = await runCli(['index', corpus, '--index', index, '--model', REPO, '--threads', '0', '-q'], offline);
    assert.equal(built.status, 0, built.stderr);
    const damage: Record<string, (b: Buffer) => Buffer> = {
      'tokenizer.json': (b) => Buffer.concat([b.subarray(0, b.length >> 1), Buffer.from('"}')]),
      'model.onnx': (b) => b.subarray(0, b.length >> 1),
      'config.json': () => Buffer.from('{"dim": 16,'),
    };
    const hint = /\nplait: plait model pull acme\/tiny-colbert re-checks every file's sha256 and re-fetches the damaged ones; then run this command again\n$/;
    for (const [file, spoil] of Object.entries(damage)) {
      const target = path.join(pulled.dir, file);
      await writeFile(target, spoil(await readFile(target)));
      const said = new RegExp(`${file.replace('.', '\\.')} in .* differs from what was pulled of acme/tiny-colbert .*: pull acme/tiny-colbert again \\(pullModel\\)`);
      const search = await runCli(['search', index, 'dough'], offline);
      assert.equal(search.status, 1, search.stderr);
      assert.match(search.stderr, said, `${file}: ${search.stderr}`);
      assert.match(search.stderr, hint, `${file}: ${search.stderr}`);
      const again = await runCli(['index', corpus, '--index', path.join(root, `index-${n++}`), '--model', REPO, '--threads', '0', '-q'], offline);
      assert.equal(again.status, 1, again.stderr);
      assert.match(again.stderr, said, `${file}: ${again.stderr}`);
      assert.match(again.stderr, hint, `${file}: ${again.stderr}`);
      // The library: the same words, and the id to pull in details.repairWith.
      await assert.rejects(
        (async () => (await createEncoder(await resolveModelSpec(REPO, { cacheDir: cliCache, offline: true }), { threads: 0 })).close())(),
        (e: unknown) => {
          assert.ok(isPlaitError(e), String(e));
          assert.equal(e.details?.['repairWith'], REPO, `${file}: ${String(e)}`);
          assert.match(e.message, said);
          return true;
        },
      );
      // The hinted command repairs it, and the index searches again.
      const pull = await runCli(['model', 'pull', REPO, '-q'], env);
      assert.equal(pull.status, 0, pull.stderr);
      assert.deepEqual(new Uint8Array(await readFile(target)), source[file], file);
      const fixed = await runCli(['search', index, 'dough', '--json'], offline);
      assert.equal(fixed.status, 0, `${file}: ${fixed.stderr}`);
    }
    // A damaged graph that still loads (a flipped byte in its weights, same size) is refused before it encodes wrong vectors.
    const graph = path.join(pulled.dir, 'model.onnx');
    const flipped = await readFile(graph);
    flipped[Math.floor(flipped.length * 0.6)] ^= 0x10;
    await writeFile(graph, flipped);
    await assert.rejects(resolveModelSpec(REPO, { cacheDir: cliCache, offline: true }).then(async (spec) => (await createEncoder(spec, { threads: 0 })).close()), (e: unknown) => {
      assert.ok(isPlaitError(e, 'DOWNLOAD_CORRUPT'), String(e));
      assert.equal(e.details?.['repairWith'], REPO);
      assert.match(e.message, /model\.onnx in .* differs from what was pulled of acme\/tiny-colbert/);
      return true;
    });
    // Another revision is named with it, as `--model` and `model pull` take it.
    const v2 = await pullModel(`${REPO}@v2`, { cacheDir: cliCache, endpoint: hub.endpoint });
    await writeFile(path.join(v2.dir, 'config.json'), 'not json');
    await assert.rejects(resolveModelSpec(`${REPO}@v2`, { cacheDir: cliCache, offline: true }).then(async (spec) => (await createEncoder(spec, { threads: 0 })).close()), (e: unknown) => {
      assert.ok(isPlaitError(e), String(e));
      assert.equal(e.details?.['repairWith'], `${REPO}@v2`);
      return true;
    });
  });

  test('a full disk while downloading is NO_SPACE at once, naming the cache, not a network failure retried', { skip: !existsSync('/dev/full') && 'needs /dev/full' }, async () => {
    // Every write to /dev/full fails with ENOSPC: the part file's place in the cache points there.
    // It was taken for a dropped connection, retried, and reported as DOWNLOAD_FAILED "check the network".
    await mkdir(path.dirname(modelPath()), { recursive: true });
    await symlink('/dev/full', `${modelPath()}.part`);
    await assert.rejects(pullModel(REPO, { cacheDir, endpoint: hub.endpoint }), (e: unknown) => {
      assert.ok(isPlaitError(e, 'NO_SPACE'), String(e));
      assert.match((e as Error).message, /the disk is full \(ENOSPC\) writing .*model\.onnx\.part.*PLAIT_CACHE_DIR/);
      return true;
    });
    assert.equal(onnxRequests().length, 1, 'retried a full disk');
  });
});
