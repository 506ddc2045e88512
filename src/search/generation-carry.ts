/**
 * What a living index's next generation takes over from the generation served before it, so that a
 * refresh (after each add, delete or compaction) does not derive again, on the serving thread, what
 * the served generation already derived from the same bytes: stage 1's int8 centroids (writes never
 * retrain the centroids) and the exact stage's per-segment token-norm cache (a delete or an add
 * leaves every existing segment's files as they were; a compaction writes new ones).
 *
 * Before (refresh-15), each refresh warmed the new generation up from nothing on the serving thread:
 * PLAID's warm-up run, the int8 centroids copied (or, when this thread's `last` quantisation was of
 * another array — a second index served, its old centroids collected — quantised again: 150–450 ms on
 * scifact's 16,384 × 512), the norm caches NaN-filled, BM25's tables read in one block; `plait serve`
 * answered /health 0.3–0.9 s late after every write (bench/write-stall.ts; bench/RESULTS.md,
 * "Refresh off the serving thread's critical path"). The tables carried here are the same bits a
 * fresh derivation gives: the same input bytes through the same code.
 *
 * Identity: the centroids (and the codec's bucket weights) are compared byte for byte (32 MB on scifact, in chunks between which the
 * event loop runs); a segment is the same when the next manifest lists it under the same file names
 * with the same sizes and CRC-32s (the commit protocol never rewrites a file under its name:
 * format/index-transaction.ts).
 */
import type { IndexManifest } from '../format/manifest.js';
import { segmentFile } from '../format/manifest.js';
import { adoptTokenInverseNorms } from '../codec/code-scorer.js';
import { adoptQuantisedCentroids } from './centroid-quantisation.js';
import { usesInt8, type ScoringArrays } from './plaid.js';
import { REFRESH_DEFAULTS } from '../config/defaults.js';

/** What the next generation can take over from the served one (carryPlan). */
export interface CarryPlan {
  /** The same centroids and bucket weights (byte for byte), dim and nbits: the tables derived from the codec carry. */
  sameCodec: boolean;
  /** For each of the next generation's segments, the served generation's index of the same segment, or -1. */
  same: number[];
}

/** What a carry took over: whether the int8 centroids came along, and how many of the next generation's segments' norm caches did. */
export interface CarriedTables {
  centroids: boolean;
  segments: number;
  /** Whether every table the next generation's scoring derives was carried (nothing left to warm on this thread). */
  complete: boolean;
}

/**
 * For each of `next`'s segments, the index of the same segment (same files) in `prev`, or -1.
 * @param prev the served generation's manifest; `next` the manifest of the generation about to be served
 */
export function sameSegments(prev: IndexManifest, next: IndexManifest): number[] {
  const key = (m: IndexManifest, i: number): string => {
    const s = m.segments[i]!;
    return `${segmentFile(s, 'codes', i)}:${s.codes.bytes}:${s.codes.crc32}|${segmentFile(s, 'residuals', i)}:${s.residuals.bytes}:${s.residuals.crc32}|${s.tokens}`;
  };
  const byKey = new Map<string, number>();
  prev.segments.forEach((_, i) => byKey.set(key(prev, i), i));
  return next.segments.map((_, i) => byKey.get(key(next, i)) ?? -1);
}

/** Whether two float arrays hold the same bytes, compared in chunks with `pause()` awaited between them. */
async function sameBytes(a: Float32Array, b: Float32Array, pause: () => Promise<void>): Promise<boolean> {
  if (a.length !== b.length) return false;
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const step = REFRESH_DEFAULTS.compareBytesPerStep;
  for (let o = 0; o < x.length; o += step) {
    if (o > 0) await pause();
    const end = Math.min(x.length, o + step);
    if (!x.subarray(o, end).equals(y.subarray(o, end))) return false;
  }
  return true;
}

/**
 * Decides what `next` (the generation about to be served) can take over from `prev` (the served
 * one): the codec compared byte for byte, `pause()` awaited between chunks; segments by their files.
 */
export async function carryPlan(prev: { arrays: ScoringArrays; manifest: IndexManifest }, next: { arrays: ScoringArrays; manifest: IndexManifest }, pause: () => Promise<void>): Promise<CarryPlan> {
  const a = prev.arrays;
  const b = next.arrays;
  // Both tables are functions of the codec (centroids, bucket weights) as well as of their own input.
  const sameCodec = a.nCentroids === b.nCentroids && a.dim === b.dim && a.nbits === b.nbits && (await sameBytes(a.weights, b.weights, pause)) && (await sameBytes(a.centroids, b.centroids, pause));
  return { sameCodec, same: sameCodec ? sameSegments(prev.manifest, next.manifest) : next.manifest.segments.map(() => -1) };
}

/**
 * Hands `next` (its tables still empty: before its warm-up) what this thread holds for `prev` and
 * the plan says did not change: the int8 centroids, the norm cache of each unchanged segment. Each
 * lands where `next`'s scoring threads read it: this thread's caches, by reference; a pool's shared
 * tables were taken over whole when the pool was made (shared-tables.ts carriedScoringTables), and
 * are then found filled already.
 */
export function carryScoringTables(prev: ScoringArrays, next: ScoringArrays, plan: CarryPlan): CarriedTables {
  if (!plan.sameCodec) return { centroids: false, segments: 0, complete: false };
  const centroids = !usesInt8(next) || (usesInt8(prev) && adoptQuantisedCentroids(prev.centroids, next.centroids, next.nCentroids, next.dim));
  let segments = 0;
  plan.same.forEach((j, i) => {
    if (j >= 0 && adoptTokenInverseNorms(prev.segments[j]!.residuals, next.segments[i]!.residuals, next.segments[i]!.codes.length)) segments++;
  });
  return { centroids, segments, complete: centroids && segments === next.segments.length };
}
