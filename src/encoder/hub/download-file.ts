/**
 * One file from a URL into a local path, the careful way: written to `<dest>.part` and renamed only
 * once verified (size against Content-Length / Content-Range, sha256 against the hub's
 * X-Linked-Etag / ETag when that is a 64-hex digest, as for LFS files); a leftover `.part` is
 * resumed with an HTTP Range request (206 appends; a server that ignores Range and answers 200
 * restarts the file); redirects are followed by hand so that the hub's headers on the first hop are
 * seen and the token is not sent to another host; dropped connections are retried, resuming.
 * The hub's refusals (X-Error-Code RepoNotFound / RevisionNotFound / GatedRepo, 401 / 403) are final
 * and say what to do; the destination folder is made only once a body arrives.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open as openFile, rename, stat, unlink } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { HUB_DEFAULTS, HUB_PULL_DEFAULTS } from '../../config/defaults.js';
import { PlaitError } from '../../errors/index.js';
import { cacheWrite } from '../cache-write.js';

export interface DownloadOptions {
  /** Extra request headers (e.g. Authorization); dropped when a redirect leaves the first host. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Bytes written so far (including a resumed part) and the expected total when known. */
  onProgress?: (done: number, total: number | null) => void;
  timeoutMs?: number;
  retries?: number;
}

export type DownloadResult = { found: true; bytes: number; sha256: string; verified: boolean } | { found: false };

/** A failure worth another attempt (network, 5xx); anything else is final. */
class Retryable extends Error {}

interface Opened {
  res: IncomingMessage;
  /** sha256 announced by the hub (X-Linked-Etag on the first hop, else ETag), when 64 hex digits. */
  sha256: string | null;
  /** File size announced by the hub's X-Linked-Size, when given. */
  linkedSize: number | null;
}

function headerValue(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sha256Of(res: IncomingMessage): string | null {
  for (const name of ['x-linked-etag', 'etag']) {
    const raw = headerValue(res, name);
    if (raw === undefined) continue;
    const v = raw.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
    if (/^[0-9a-f]{64}$/.test(v)) return v;
  }
  return null;
}

/** One GET; asks for identity encoding, since the bytes on disk must be the bytes the hub hashed. */
function request(url: URL, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
    if (lib === null) {
      reject(new PlaitError('DOWNLOAD_FAILED', { message: `unsupported URL scheme in ${url.href}`, url: url.href }));
      return;
    }
    const req = lib.get(url, { headers: { 'user-agent': 'plait', 'accept-encoding': 'identity', ...headers }, signal });
    req.setTimeout(timeoutMs, () => req.destroy(new Retryable(`no data from ${url.host} for ${timeoutMs} ms`)));
    req.on('response', resolve);
    req.on('error', reject);
  });
}

async function open(url: string, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<Opened> {
  let current = new URL(url);
  const origin = current.origin;
  let sha256: string | null = null;
  let linkedSize: number | null = null;
  for (let hop = 0; hop <= HUB_PULL_DEFAULTS.maxRedirects; hop++) {
    const sameHost = current.origin === origin;
    const hopHeaders = sameHost ? headers : Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    const res = await request(current, hopHeaders, timeoutMs, signal);
    sha256 ??= sha256Of(res);
    const size = headerValue(res, 'x-linked-size');
    if (linkedSize === null && size !== undefined && /^\d+$/.test(size)) linkedSize = Number(size);
    const status = res.statusCode ?? 0;
    const location = headerValue(res, 'location');
    if (status >= 300 && status < 400 && location !== undefined) {
      res.resume();
      current = new URL(location, current);
      continue;
    }
    return { res, sha256, linkedSize };
  }
  throw new PlaitError('DOWNLOAD_FAILED', { message: `more than ${HUB_PULL_DEFAULTS.maxRedirects} redirects for ${url}`, url });
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

async function removeQuietly(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}

async function attempt(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const part = `${dest}.part`;
  let have = await sizeOf(part);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (have > 0) headers['range'] = `bytes=${have}-`;
  const { res, sha256, linkedSize } = await open(url, headers, opts.timeoutMs ?? HUB_DEFAULTS.timeoutMs, opts.signal);
  const status = res.statusCode ?? 0;
  const refused = hubRefusal(res, url, headers);
  if (refused !== null) {
    res.resume();
    throw refused;
  }
  if (status === 404) {
    res.resume();
    await removeQuietly(part);
    return { found: false };
  }
  if (status === 416 && have > 0) {
    // Nothing left past our part: either it is complete, or it is stale; restart in the latter case.
    res.resume();
    const total = /\/(\d+)$/.exec(headerValue(res, 'content-range') ?? '')?.[1];
    if (total === undefined || Number(total) !== have) {
      await removeQuietly(part);
      throw new Retryable(`server refused to resume ${url}`);
    }
  } else if (status === 200 || status === 206) {
    let append = status === 206 && have > 0;
    if (append) {
      const start = /^bytes (\d+)-/.exec(headerValue(res, 'content-range') ?? '')?.[1];
      if (start === undefined || Number(start) !== have) {
        res.resume();
        await removeQuietly(part);
        throw new Retryable(`server resumed ${url} at the wrong offset`);
      }
    }
    if (!append) have = 0;
    const length = headerValue(res, 'content-length');
    const total = length !== undefined && /^\d+$/.test(length) ? have + Number(length) : linkedSize;
    await finishBody(res, part, append, have, total, opts);
  } else {
    res.resume();
    if (status >= 500 || status === 429) throw new Retryable(`HTTP ${status} from ${url}`);
    throw new PlaitError('DOWNLOAD_FAILED', { message: `HTTP ${status} for ${url}`, url, status });
  }
  return verify(part, dest, sha256, linkedSize);
}

/**
 * What the hub's refusal means, read as huggingface_hub reads it (the X-Error-Code header, then the
 * status): a repository or revision it does not have is MODEL_NOT_FOUND for every file, not "this
 * file is missing"; 401 / 403 say whether HF_TOKEN was missing or was sent and refused (a gated
 * repository whose conditions that account has not accepted, or a token without read access).
 * Null for any other answer. The hub's own X-Error-Message is quoted.
 */
function hubRefusal(res: IncomingMessage, url: string, headers: Record<string, string>): PlaitError | null {
  const status = res.statusCode ?? 0;
  const code = headerValue(res, 'x-error-code');
  const said = headerValue(res, 'x-error-message');
  const quote = said === undefined ? '' : ` (the hub says: "${said}")`;
  const m = /^(.*?)\/([^/]+\/[^/]+)\/resolve\/([^/]+)\//.exec(url);
  const repo = m === null ? url : `${decodeURIComponent(m[2]!)}`;
  const where = m === null ? '' : ` on ${m[1]!}`;
  const sentToken = Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');
  if (code === 'RevisionNotFound' || code === 'RepoNotFound') {
    const what = code === 'RevisionNotFound' ? `no revision "${decodeURIComponent(m?.[3] ?? '')}" of ${repo}${where}: check the branch, tag or commit` : `no repository ${repo}${where}: check its name${sentToken ? ', and that HF_TOKEN has read access to it if it is private' : ', or, if it is private, set HF_TOKEN to a token that can read it'}`;
    return new PlaitError('MODEL_NOT_FOUND', { message: `${what}${quote}`, url, status, hubErrorCode: code });
  }
  if (status !== 401 && status !== 403) return null;
  const gated = code === 'GatedRepo';
  const page = m === null ? 'the repository\'s page' : `${m[1]!}/${repo}`;
  const todo = sentToken
    ? gated
      ? `HF_TOKEN was sent but its account may not download it yet: accept the repository's conditions on ${page} with that account (and, for a fine-grained token, allow read access to public gated repositories)`
      : `HF_TOKEN was sent and refused: check that the token is valid and can read ${repo}`
    : `${gated ? `${repo} is a gated repository: accept its conditions on ${page}, then set` : `${repo} may be private or gated: set`} HF_TOKEN to an access token of an account that may download it`;
  return new PlaitError('DOWNLOAD_FAILED', { message: `HTTP ${status} for ${url}: ${todo}${quote}`, url, status, ...(code === undefined ? {} : { hubErrorCode: code }) });
}

/** A write of the download (its folder, a chunk, the final rename): NO_SPACE / NOT_WRITABLE, final, not a dropped connection retried. */
function local<T>(file: string, write: () => Promise<T>): Promise<T> {
  return cacheWrite(file, 'a later run resumes the download', write);
}

async function finishBody(res: IncomingMessage, part: string, append: boolean, have: number, total: number | null, opts: DownloadOptions): Promise<void> {
  // The folder is made only once there is a body to keep: a refused or missing repository leaves none behind in the cache.
  await local(part, () => mkdir(path.dirname(part), { recursive: true }));
  let done = have;
  let reported = done;
  opts.onProgress?.(done, total);
  // Each chunk is written (awaited) before the next is read, so when the connection drops every
  // byte received so far is on disk and the next attempt resumes exactly there. (A stream pipeline
  // would destroy the file stream on error and could drop bytes still buffered.)
  const file = await local(part, () => openFile(part, append ? 'a' : 'w'));
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      await local(part, () => file.write(chunk));
      done += chunk.length;
      if (done - reported >= HUB_PULL_DEFAULTS.progressEveryBytes) {
        reported = done;
        opts.onProgress?.(done, total);
      }
    }
  } catch (cause) {
    if (opts.signal?.aborted || cause instanceof PlaitError) throw cause;
    throw new Retryable(`connection dropped after ${done} bytes: ${(cause as Error).message}`);
  } finally {
    await file.close();
  }
  if (total !== null && done !== total) throw new Retryable(`received ${done} of ${total} bytes`);
  opts.onProgress?.(done, total ?? done);
}

async function verify(part: string, dest: string, expectedSha: string | null, linkedSize: number | null): Promise<DownloadResult> {
  const bytes = await sizeOf(part);
  const hash = createHash('sha256');
  await hashFile(part, hash);
  const sha256 = hash.digest('hex');
  const sizeBad = linkedSize !== null && linkedSize !== bytes;
  if (sizeBad || (expectedSha !== null && expectedSha !== sha256)) {
    await removeQuietly(part);
    const what = sizeBad ? `size ${bytes} but the hub announced ${linkedSize}` : `sha256 ${sha256} but the hub announced ${expectedSha}`;
    throw new PlaitError('DOWNLOAD_CORRUPT', { message: `${path.basename(dest)} has ${what}; the partial file was removed`, file: dest });
  }
  await local(dest, () => rename(part, dest));
  return { found: true, bytes, sha256, verified: expectedSha !== null };
}

/** Downloads url to dest (atomically, resumably, verified); `{ found: false }` on HTTP 404. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const retries = opts.retries ?? HUB_DEFAULTS.retries;
  for (let n = 0; ; n++) {
    try {
      return await attempt(url, dest, opts);
    } catch (cause) {
      if (opts.signal?.aborted) {
        throw new PlaitError('ABORTED', { message: `download of ${url} was cancelled; run again to resume`, url }, { cause });
      }
      if (cause instanceof PlaitError) throw cause;
      if (n >= retries) {
        // What to do when the hub cannot be reached at all (no network, a proxy, a wrong HF_ENDPOINT).
        const todo = `; check the network (HF_ENDPOINT names another hub or a mirror), or use a model already here: a local model folder, the model cache (PLAIT_CACHE_DIR), or the bundled model; a later run resumes the download`;
        throw new PlaitError('DOWNLOAD_FAILED', { message: `${url}: ${(cause as Error).message}${todo}`, url, unreachable: true }, { cause });
      }
      await new Promise((r) => setTimeout(r, HUB_PULL_DEFAULTS.retryDelayMs * (n + 1)));
    }
  }
}
