/**
 * The TypeScript twin of the native kernels: plain loops over typed arrays, written for clarity
 * first. It is the fallback when the addon is missing (or PLAIT_KERNELS=ts) and the oracle of the
 * differential tests. Hot loops do not allocate; per-call scratch comes from a buffer that grows
 * once and is reused.
 */

import { MAXSIM_EMPTY_TOKEN, type Kernels } from './types.js';
import { invalidArgument } from '../errors/index.js';
import { withArrayChecks } from './arguments.js';
import { codeKernels } from './code-kernels.js';
import { fastScanKernels } from './fast-scan.js';
import { ternaryCodeKernels } from './ternary-code-kernels.js';
import { centroidEstimateWalk, probedPairs } from './probed-walk.js';
import { probedPairScores } from './probed-scores.js';
import { checkCodes, checkCount, checkDim, checkLength, checkNbits, checkSpans, residualRowBytes, TERNARY_NBITS } from './validate.js';
import { checkTernaryCodec, compressTernary, decodeTernaryRows, decompressTernary } from './ternary-kernels.js';

let scratch = new Float64Array(256);

/** Reusable scratch of at least `n` doubles (single-threaded per isolate, so sharing is safe). */
function scratchOf(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

let decodeScratch = new Float32Array(256 * 128);

function decodeScratchOf(n: number): Float32Array {
  if (decodeScratch.length < n) decodeScratch = new Float32Array(Math.max(n, decodeScratch.length * 2));
  return decodeScratch;
}

/** a[ai, ai + dim) · b[bi, bi + dim), four independent partial sums (V8 inlines this). */
function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 4 <= dim; t += 4) {
    s0 += a[ai + t]! * b[bi + t]!;
    s1 += a[ai + t + 1]! * b[bi + t + 1]!;
    s2 += a[ai + t + 2]! * b[bi + t + 2]!;
    s3 += a[ai + t + 3]! * b[bi + t + 3]!;
  }
  for (; t < dim; t++) s0 += a[ai + t]! * b[bi + t]!;
  return s0 + s1 + (s2 + s3);
}

function matmulTransB(a: Float32Array, m: number, b: Float32Array, n: number, dim: number, out: Float32Array): void {
  checkCount('m', m);
  checkCount('n', n);
  checkDim(dim);
  checkLength('a', a, m * dim);
  checkLength('b', b, n * dim);
  checkLength('out', out, m * n);
  for (let i = 0; i < m; i++) {
    const ai = i * dim;
    for (let j = 0; j < n; j++) {
      const bj = j * dim;
      out[i * n + j] = dot(a, ai, b, bj, dim);
    }
  }
}

function assignNearest(
  vectors: Float32Array,
  n: number,
  centroids: Float32Array,
  k: number,
  dim: number,
  codes: Int32Array,
  bestScores?: Float32Array,
): void {
  checkCount('n', n);
  checkCount('k', k);
  checkDim(dim);
  if (k === 0 && n > 0) throw invalidArgument('k', 'a positive integer when n > 0', k);
  checkLength('vectors', vectors, n * dim);
  checkLength('centroids', centroids, k * dim);
  checkLength('codes', codes, n);
  if (bestScores) checkLength('bestScores', bestScores, n);
  for (let i = 0; i < n; i++) nearestInto(vectors, i * dim, centroids, k, dim, codes, bestScores, i);
}

/** Writes the nearest centroid (highest inner product; the first on ties) of the vector at `vi` to codes[i]. */
function nearestInto(vectors: Float32Array, vi: number, centroids: Float32Array, k: number, dim: number, codes: Int32Array, bestScores: Float32Array | undefined, i: number): void {
  let best = -Infinity;
  let bestId = 0;
  for (let c = 0; c < k; c++) {
    const s = dot(vectors, vi, centroids, c * dim, dim);
    if (s > best) {
      best = s;
      bestId = c;
    }
  }
  codes[i] = bestId;
  if (bestScores) bestScores[i] = best;
}

function assignNearestRows(
  vectors: Float32Array,
  rows: Int32Array,
  nRows: number,
  centroids: Float32Array,
  k: number,
  dim: number,
  codes: Int32Array,
  bestScores?: Float32Array,
): void {
  checkCount('nRows', nRows);
  checkCount('k', k);
  checkDim(dim);
  if (k === 0 && nRows > 0) throw invalidArgument('k', 'a positive integer when nRows > 0', k);
  checkLength('rows', rows, nRows);
  checkLength('centroids', centroids, k * dim);
  checkLength('codes', codes, nRows);
  if (bestScores) checkLength('bestScores', bestScores, nRows);
  const nVectors = Math.floor(vectors.length / dim);
  for (let i = 0; i < nRows; i++) {
    const r = rows[i]!;
    if (r < 0 || r >= nVectors) throw invalidArgument(`rows[${i}]`, `a row in [0, ${nVectors})`, r);
  }
  for (let i = 0; i < nRows; i++) nearestInto(vectors, rows[i]! * dim, centroids, k, dim, codes, bestScores, i);
}

/**
 * A document without tokens: ColBERT masks padding with -9999 before the max, so each query token
 * scores MAXSIM_EMPTY_TOKEN and the document ranks below every real one (0 would beat negatives).
 */
function emptyScore(qLen: number, qWeights: Float32Array | null | undefined): number {
  let total = 0;
  for (let i = 0; i < qLen; i++) total += (qWeights ? qWeights[i]! : 1) * MAXSIM_EMPTY_TOKEN;
  return total;
}

/** Σ_i w_i · max_j q_i·doc_j over the `len` rows of `rows` starting at row `start`. */
function maxsimOne(
  q: Float32Array,
  qLen: number,
  dim: number,
  rows: Float32Array,
  start: number,
  len: number,
  maxes: Float64Array,
  qWeights: Float32Array | null | undefined,
): number {
  if (len === 0) return emptyScore(qLen, qWeights);
  maxes.fill(-Infinity, 0, qLen);
  for (let j = start; j < start + len; j++) {
    const dj = j * dim;
    for (let i = 0; i < qLen; i++) {
      const s = dot(q, i * dim, rows, dj, dim);
      if (s > maxes[i]!) maxes[i] = s;
    }
  }
  let total = 0;
  for (let i = 0; i < qLen; i++) total += qWeights ? qWeights[i]! * maxes[i]! : maxes[i]!;
  return total;
}

function checkQuery(q: Float32Array, qLen: number, dim: number, qWeights: Float32Array | null | undefined): void {
  checkCount('qLen', qLen);
  checkDim(dim);
  checkLength('q', q, qLen * dim);
  if (qWeights) checkLength('qWeights', qWeights, qLen);
}

function maxsim(
  q: Float32Array,
  qLen: number,
  dim: number,
  docs: Float32Array,
  docStarts: Int32Array,
  doclens: Int32Array,
  nDocs: number,
  out: Float32Array,
  qWeights?: Float32Array | null,
): void {
  checkQuery(q, qLen, dim, qWeights);
  checkCount('nDocs', nDocs);
  checkSpans('docStarts', docStarts, doclens, nDocs, Math.floor(docs.length / dim));
  checkLength('out', out, nDocs);
  const maxes = scratchOf(qLen);
  for (let d = 0; d < nDocs; d++) out[d] = maxsimOne(q, qLen, dim, docs, docStarts[d]!, doclens[d]!, maxes, qWeights);
}

/** Index of the bucket holding x: the number of cutoffs c with c <= x. */
function bucketOf(x: number, cutoffs: Float32Array, nCutoffs: number): number {
  let b = 0;
  while (b < nCutoffs && cutoffs[b]! <= x) b++;
  return b;
}

function compress(
  vectors: Float32Array,
  n: number,
  dim: number,
  centroids: Float32Array,
  codes: Int32Array,
  cutoffs: Float32Array,
  nbits: number,
  out: Uint8Array,
): void {
  if (nbits === TERNARY_NBITS) return compressTernary(vectors, n, dim, centroids, codes, cutoffs, out);
  checkCount('n', n);
  checkDim(dim);
  checkNbits(nbits, dim);
  const nCutoffs = (1 << nbits) - 1;
  const bytesPerRow = (dim * nbits) / 8;
  const k = Math.floor(centroids.length / dim);
  checkLength('vectors', vectors, n * dim);
  checkLength('codes', codes, n);
  checkCodes(codes, 0, n, k);
  checkLength('cutoffs', cutoffs, nCutoffs);
  checkLength('out', out, n * bytesPerRow);
  const perByte = 8 / nbits;
  for (let i = 0; i < n; i++) {
    const vi = i * dim;
    const ci = codes[i]! * dim;
    const ob = i * bytesPerRow;
    for (let b = 0; b < bytesPerRow; b++) {
      let byte = 0;
      for (let s = 0; s < perByte; s++) {
        const t = b * perByte + s;
        // fround: the residual is a float32, as in the native kernel, so both bucket it the same.
        const bucket = bucketOf(Math.fround(vectors[vi + t]! - centroids[ci + t]!), cutoffs, nCutoffs);
        byte = (byte << nbits) | bucket;
      }
      out[ob + b] = byte;
    }
  }
}

/** Decodes rows [from, from + count) into `out` starting at element `outOffset`, normalised. */
function decodeRows(
  codes: Int32Array,
  residuals: Uint8Array,
  from: number,
  count: number,
  dim: number,
  centroids: Float32Array,
  weights: Float32Array,
  nbits: number,
  out: Float32Array,
  outOffset: number,
): void {
  const bytesPerRow = (dim * nbits) / 8;
  const perByte = 8 / nbits;
  const mask = (1 << nbits) - 1;
  for (let r = 0; r < count; r++) {
    const row = from + r;
    const ci = codes[row]! * dim;
    const rb = row * bytesPerRow;
    const o = outOffset + r * dim;
    for (let b = 0; b < bytesPerRow; b++) {
      const byte = residuals[rb + b]!;
      for (let s = 0; s < perByte; s++) {
        const t = b * perByte + s;
        const bucket = (byte >> (8 - nbits * (s + 1))) & mask;
        out[o + t] = centroids[ci + t]! + weights[bucket]!;
      }
    }
    let norm = 0;
    for (let t = 0; t < dim; t++) norm += out[o + t]! * out[o + t]!;
    const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
    for (let t = 0; t < dim; t++) out[o + t] = out[o + t]! * inv;
  }
}

function checkCodec(dim: number, nbits: number, centroids: Float32Array, weights: Float32Array): number {
  checkDim(dim);
  checkNbits(nbits, dim);
  checkLength('weights', weights, 1 << nbits);
  return Math.floor(centroids.length / dim);
}

function decompress(
  codes: Int32Array,
  residuals: Uint8Array,
  n: number,
  dim: number,
  centroids: Float32Array,
  weights: Float32Array,
  nbits: number,
  out: Float32Array,
): void {
  if (nbits === TERNARY_NBITS) return decompressTernary(codes, residuals, n, dim, centroids, weights, out);
  checkCount('n', n);
  const k = checkCodec(dim, nbits, centroids, weights);
  checkLength('codes', codes, n);
  checkCodes(codes, 0, n, k);
  checkLength('residuals', residuals, (n * dim * nbits) / 8);
  checkLength('out', out, n * dim);
  decodeRows(codes, residuals, 0, n, dim, centroids, weights, nbits, out, 0);
}

function maxsimCompressed(
  q: Float32Array,
  qLen: number,
  dim: number,
  codes: Int32Array,
  residuals: Uint8Array,
  tokenStarts: Int32Array,
  doclens: Int32Array,
  nDocs: number,
  centroids: Float32Array,
  weights: Float32Array,
  nbits: number,
  out: Float32Array,
  qWeights?: Float32Array | null,
): void {
  checkQuery(q, qLen, dim, qWeights);
  checkCount('nDocs', nDocs);
  const ternary = nbits === TERNARY_NBITS;
  const k = ternary ? checkTernaryCodec(dim, centroids, weights) : checkCodec(dim, nbits, centroids, weights);
  const rows = Math.min(codes.length, Math.floor(residuals.length / residualRowBytes(dim, nbits)));
  checkSpans('tokenStarts', tokenStarts, doclens, nDocs, rows);
  checkLength('out', out, nDocs);
  let longest = 0;
  for (let d = 0; d < nDocs; d++) {
    checkCodes(codes, tokenStarts[d]!, tokenStarts[d]! + doclens[d]!, k);
    if (doclens[d]! > longest) longest = doclens[d]!;
  }
  const buffer = decodeScratchOf(longest * dim);
  const maxes = scratchOf(qLen);
  for (let d = 0; d < nDocs; d++) {
    const len = doclens[d]!;
    if (ternary) decodeTernaryRows(codes, residuals, tokenStarts[d]!, len, dim, centroids, weights, buffer, 0);
    else decodeRows(codes, residuals, tokenStarts[d]!, len, dim, centroids, weights, nbits, buffer, 0);
    out[d] = maxsimOne(q, qLen, dim, buffer, 0, len, maxes, qWeights);
  }
}

function centroidInteraction(
  centroidScores: Float32Array,
  qLen: number,
  codes: Int32Array,
  tokenStarts: Int32Array,
  doclens: Int32Array,
  nDocs: number,
  keep: Uint8Array | null,
  out: Float32Array,
  qWeights?: Float32Array | null,
): void {
  checkCount('qLen', qLen);
  checkCount('nDocs', nDocs);
  if (qWeights) checkLength('qWeights', qWeights, qLen);
  const k = qLen === 0 ? 0 : Math.floor(centroidScores.length / qLen);
  if (keep) checkLength('keep', keep, k);
  checkSpans('tokenStarts', tokenStarts, doclens, nDocs, codes.length);
  checkLength('out', out, nDocs);
  if (qLen === 0) {
    out.fill(0, 0, nDocs);
    return;
  }
  for (let d = 0; d < nDocs; d++) checkCodes(codes, tokenStarts[d]!, tokenStarts[d]! + doclens[d]!, k);
  const maxes = scratchOf(qLen);
  for (let d = 0; d < nDocs; d++) {
    const start = tokenStarts[d]!;
    const end = start + doclens[d]!;
    maxes.fill(-Infinity, 0, qLen);
    let any = false;
    for (let j = start; j < end; j++) {
      const c = codes[j]!;
      if (keep && keep[c] === 0) continue;
      any = true;
      const row = c * qLen;
      for (let i = 0; i < qLen; i++) {
        const s = centroidScores[row + i]!;
        if (s > maxes[i]!) maxes[i] = s;
      }
    }
    if (!any) {
      out[d] = 0;
      continue;
    }
    let total = 0;
    for (let i = 0; i < qLen; i++) total += qWeights ? qWeights[i]! * maxes[i]! : maxes[i]!;
    out[d] = total;
  }
}

/** NaN ranks below every number, so a NaN score never displaces a real one. */
function rankKey(x: number): number {
  return x !== x ? -Infinity : x;
}

function topK(scores: Float32Array, n: number, k: number): Int32Array {
  checkCount('n', n);
  checkCount('k', k);
  checkLength('scores', scores, n);
  const size = Math.min(k, n);
  const heap = new Int32Array(size);
  if (size === 0) return heap;
  // Min-heap of the best `size` indices seen so far; the root is the worst of them.
  // `worse(a, b)`: a ranks below b (lower score, or equal score and higher index).
  const worse = (a: number, b: number): boolean => {
    const sa = rankKey(scores[a]!);
    const sb = rankKey(scores[b]!);
    return sa < sb || (sa === sb && a > b);
  };
  const siftDown = (from: number, len: number): void => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= len) return;
      const r = l + 1;
      const c = r < len && worse(heap[r]!, heap[l]!) ? r : l;
      if (!worse(heap[c]!, heap[i]!)) return;
      const t = heap[i]!;
      heap[i] = heap[c]!;
      heap[c] = t;
      i = c;
    }
  };
  for (let i = 0; i < size; i++) heap[i] = i;
  for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(i, size);
  for (let i = size; i < n; i++) {
    if (worse(heap[0]!, i)) {
      heap[0] = i;
      siftDown(0, size);
    }
  }
  // Heap sort in place: repeatedly move the worst to the end, leaving best first.
  for (let end = size - 1; end > 0; end--) {
    const t = heap[0]!;
    heap[0] = heap[end]!;
    heap[end] = t;
    siftDown(0, end);
  }
  return heap;
}

function probeCentroids(s: Float32Array, nCentroids: number, qLen: number, p: number, threshold: number, probed: Int32Array, keep: Uint8Array, rowMax?: Float32Array | null): void {
  checkCount('nCentroids', nCentroids);
  checkCount('qLen', qLen);
  checkCount('nProbe', p);
  if (typeof threshold !== 'number') throw invalidArgument('threshold', 'a number', threshold);
  checkLength('centroidScores', s, nCentroids * qLen);
  checkLength('probed', probed, qLen * p);
  checkLength('keep', keep, nCentroids);
  if (rowMax) checkLength('rowMax', rowMax, nCentroids);
  const bestScores = new Float32Array(qLen * p).fill(-Infinity);
  // Each token's p-th best score so far, contiguous: the hot loop compares against it and touches
  // the sorted lists only on an insertion.
  const worst = new Float32Array(qLen).fill(p === 0 ? Infinity : -Infinity);
  // The lowest p-th best over the tokens: a row whose maximum is not above it inserts nothing.
  let minWorst = qLen === 0 ? Infinity : worst[0]!;
  probed.fill(-1, 0, qLen * p);
  for (let c = 0; c < nCentroids; c++) {
    if (rowMax && rowMax[c]! <= minWorst) {
      keep[c] = rowMax[c]! >= threshold ? 1 : 0;
      continue;
    }
    const row = c * qLen;
    let inserted = false;
    let max = -Infinity;
    for (let i = 0; i < qLen; i++) {
      const v = s[row + i]!;
      if (v > max) max = v;
      if (v > worst[i]!) {
        // Insert into token i's small sorted list (p is 1–4 at ColBERT's settings).
        const base = i * p;
        let j = p - 1;
        while (j > 0 && v > bestScores[base + j - 1]!) {
          bestScores[base + j] = bestScores[base + j - 1]!;
          probed[base + j] = probed[base + j - 1]!;
          j--;
        }
        bestScores[base + j] = v;
        probed[base + j] = c;
        worst[i] = bestScores[base + p - 1]!;
        inserted = true;
      }
    }
    if (inserted) {
      minWorst = worst[0]!;
      for (let i = 1; i < qLen; i++) if (worst[i]! < minWorst) minWorst = worst[i]!;
    }
    keep[c] = max >= threshold ? 1 : 0;
  }
}

function keepWithinMargin(s: Float32Array, nCentroids: number, qLen: number, floor: Float32Array, keep: Uint8Array, rowMax?: Float32Array | null): void {
  checkCount('nCentroids', nCentroids);
  checkCount('qLen', qLen);
  checkLength('centroidScores', s, nCentroids * qLen);
  checkLength('floor', floor, qLen);
  checkLength('keep', keep, nCentroids);
  if (rowMax) checkLength('rowMax', rowMax, nCentroids);
  // A row whose maximum is below every floor keeps nothing (NaN floors never pass: left out of the minimum).
  let minFloor = Infinity;
  for (let i = 0; i < qLen; i++) if (floor[i]! < minFloor) minFloor = floor[i]!;
  for (let c = 0; c < nCentroids; c++) {
    if (keep[c] !== 0 || (rowMax && rowMax[c]! < minFloor)) continue;
    const row = c * qLen;
    for (let i = 0; i < qLen; i++) {
      if (s[row + i]! >= floor[i]!) {
        keep[c] = 1;
        break;
      }
    }
  }
}

function ivfInteraction(
  s: Float32Array,
  qLen: number,
  kept: Int32Array,
  bounds: Int32Array,
  entries: Int32Array,
  pids: Int32Array,
  out: Float32Array,
  qWeights?: Float32Array | null,
): void {
  checkCount('qLen', qLen);
  if (qWeights) checkLength('qWeights', qWeights, qLen);
  const k = qLen === 0 ? 0 : Math.floor(s.length / qLen);
  const nDocs = pids.length;
  checkLength('bounds', bounds, kept.length + 1);
  checkLength('out', out, nDocs);
  if (qLen > 0) for (const c of kept) if (c < 0 || c >= k) throw invalidArgument('kept', `centroids below ${k}`, c);
  for (let i = 0; i <= kept.length; i++) {
    const b = bounds[i]!;
    if (b < 0 || b > entries.length || (i > 0 && b < bounds[i - 1]!)) throw invalidArgument('bounds', `ascending offsets within entries (${entries.length})`, b);
  }
  for (let i = 1; i < nDocs; i++) if (pids[i]! <= pids[i - 1]!) throw invalidArgument('pids', 'pids in ascending order', pids[i]);
  if (qLen === 0) {
    out.fill(0, 0, nDocs);
    return;
  }
  const best = new Float32Array(nDocs * qLen).fill(-Infinity);
  const touched = new Uint8Array(nDocs);
  for (let n = 0; n < kept.length; n++) {
    const row = kept[n]! * qLen;
    for (let e = bounds[n]!; e < bounds[n + 1]!; e++) {
      // Binary search of the ascending candidates (the native kernel's std::lower_bound).
      const pid = entries[e]!;
      let lo = 0;
      let hi = nDocs;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (pids[mid]! < pid) lo = mid + 1;
        else hi = mid;
      }
      if (lo === nDocs || pids[lo] !== pid) continue;
      touched[lo] = 1;
      const b = lo * qLen;
      for (let i = 0; i < qLen; i++) {
        const v = s[row + i]!;
        if (v > best[b + i]!) best[b + i] = v;
      }
    }
  }
  for (let j = 0; j < nDocs; j++) {
    let total = 0;
    if (touched[j] !== 0) {
      const b = j * qLen;
      // float32 sums in token order (the native kernel's bits).
      for (let i = 0; i < qLen; i++) total = Math.fround(total + (qWeights ? Math.fround(qWeights[i]! * best[b + i]!) : best[b + i]!));
    }
    out[j] = total;
  }
}

/** Query tokens per panel chunk of `centroidScoresInt8` (one 16-lane vector of int32 sums). */
const INT8_CHUNK = 16;

function centroidScoresInt8(
  centroids: Uint8Array,
  centroidScales: Float32Array,
  nCentroids: number,
  dim: number,
  queryPanel: Uint8Array,
  queryScales: Float32Array,
  corrections: Int32Array,
  qLen: number,
  out: Float32Array,
  rowMax?: Float32Array | null,
): void {
  checkCount('nCentroids', nCentroids);
  checkDim(dim);
  checkCount('qLen', qLen);
  if (dim % 4 !== 0 || dim > 512) throw invalidArgument('dim', 'a multiple of 4 and at most 512', dim);
  const chunks = Math.ceil(qLen / INT8_CHUNK);
  checkLength('centroids', centroids, nCentroids * dim);
  checkLength('centroidScales', centroidScales, nCentroids);
  checkLength('queryPanel', queryPanel, chunks * INT8_CHUNK * dim);
  checkLength('queryScales', queryScales, qLen);
  checkLength('corrections', corrections, qLen);
  checkLength('out', out, nCentroids * qLen);
  if (rowMax) checkLength('rowMax', rowMax, nCentroids);
  const groups = dim / 4;
  for (let c = 0; c < nCentroids; c++) {
    const row = c * dim;
    const sc = centroidScales[c]!;
    let max = -Infinity;
    for (let i = 0; i < qLen; i++) {
      // Token i sits in lane l of chunk h; its 4-byte group g starts at ((h·groups + g)·16 + l)·4.
      const h = Math.floor(i / INT8_CHUNK);
      const lane = (i % INT8_CHUNK) * 4;
      let sum = 0;
      for (let g = 0; g < groups; g++) {
        const qb = (h * groups + g) * 64 + lane;
        const cb = row + 4 * g;
        for (let j = 0; j < 4; j++) sum += centroids[cb + j]! * ((queryPanel[qb + j]! << 24) >> 24);
      }
      // Exact integers (|sum| < 2^24), then two float32 products: the native paths' bits.
      const v = Math.fround(Math.fround(sum - corrections[i]!) * Math.fround(sc * queryScales[i]!));
      out[c * qLen + i] = v;
      if (v > max) max = v;
    }
    if (rowMax) rowMax[c] = max;
  }
}

export const typescriptKernels: Kernels = withArrayChecks({
  name: 'typescript',
  matmulTransB,
  assignNearest,
  assignNearestRows,
  maxsim,
  compress,
  decompress,
  maxsimCompressed,
  centroidInteraction,
  topK,
  probeCentroids,
  centroidScoresInt8,
  keepWithinMargin,
  ivfInteraction,
  centroidEstimateWalk,
  probedPairs,
  probedPairScores,
  ...codeKernels,
  ...fastScanKernels,
  ...ternaryCodeKernels,
});
