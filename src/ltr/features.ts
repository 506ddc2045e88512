/**
 * Learning-to-rank features per (query, document): one documented, versioned list. A model records
 * the feature set version and the names it was trained on; plait refuses a model whose version or
 * names it does not know (LTR_MODEL_INVALID), so a change of meaning here must bump
 * LTR_FEATURE_SET_VERSION.
 *
 * Feature set 1, in order (NaN = missing: XGBoost's trees send it down each split's default branch):
 *
 * | name | meaning |
 * |---|---|
 * | bm25 | BM25 score of the document (the document store's, k1 0.9, b 0.4); 0 without a query term |
 * | late_idf | MaxSim of the best passage with query-token IDF weights (search/idf.ts), ÷ query tokens |
 * | late_plain | MaxSim of the best passage with every query token weighted 1, ÷ query tokens |
 * | best_passage | 0-based position of the IDF-weighted best passage in its document (0: the first window) |
 * | doc_length | the document's length in BM25 terms (title + text) |
 * | query_length | query tokens the encoder scores (the divisor of the two MaxSim features) |
 * | cross | the cross-encoder score, when a cross stage ran before the ltr stage (else missing) |
 * | bm25_rank | 1-based rank of the document by BM25 among the candidates given to the ltr stage |
 * | late_rank | 1-based rank by late_idf among the same candidates |
 * | meta:<field> | a numeric metadata field the user names (missing when absent or not a finite number) |
 *
 * Where the scores come from: a score an earlier stage computed rides on the candidate
 * (`Candidate.signals`) and is reused; what no stage computed is computed here on the candidate
 * list only (BM25 from the document store's postings, MaxSim by exact rerank of the stored
 * vectors: no re-encoding of documents). Ranks are within the candidate list, so training and
 * scoring must use the same candidate pipeline (the model records it). Everything is read through
 * a `PipelineIndex` (src/pipeline/pipeline-index.ts), so a cluster's coordinator computes the same
 * features from the documents' shards (BM25 with the corpus's statistics).
 */
import { PlaitError, checkArray, checkObject, checkString, checkStringArray } from '../errors/index.js';
import { bm25Length } from '../docstore/bm25-terms.js';
import { indexText } from '../indexer/index-text.js';
import { PlaitIndex } from '../search/plait-index.js';
import type { CandidateSignals } from '../pipeline/stages.js';
import { localPipelineIndex, type PipelineIndex } from '../pipeline/pipeline-index.js';

export const LTR_FEATURE_SET_VERSION = 1;

/** The built-in features of set 1, in model column order (metadata features follow them). */
export const LTR_BASE_FEATURES = ['bm25', 'late_idf', 'late_plain', 'best_passage', 'doc_length', 'query_length', 'cross', 'bm25_rank', 'late_rank'] as const;
export type LtrBaseFeature = (typeof LTR_BASE_FEATURES)[number];

/** Prefix of a metadata feature's name: `meta:year`. */
export const LTR_META_PREFIX = 'meta:';

export type { CandidateSignals };

/** A candidate as the ltr stage sees it. */
export interface FeatureCandidate {
  docId: string;
  signals?: CandidateSignals;
}

/**
 * The feature names of a model: the built-in ones (`cross` only when `withCross`: the candidate
 * pipeline has a cross stage), then `meta:<field>` per metadata field.
 * @throws PlaitError INVALID_ARGUMENT for a field name that is empty or repeated.
 */
export function featureNames(metadataFields: readonly string[] = [], withCross = false): string[] {
  checkArray('metadataFields', metadataFields, 'an array of metadata field names');
  const seen = new Set<string>();
  for (const f of metadataFields) {
    if (typeof f !== 'string' || f.trim() === '' || seen.has(f)) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected distinct non-empty metadata field names but received ${JSON.stringify(metadataFields)}`, name: 'features' });
    seen.add(f);
  }
  return [...LTR_BASE_FEATURES.filter((f) => withCross || f !== 'cross'), ...metadataFields.map((f) => `${LTR_META_PREFIX}${f}`)];
}

/**
 * Checks that every name is a feature of set 1 (a base feature or `meta:<field>`).
 * @throws PlaitError LTR_MODEL_INVALID naming the first unknown one.
 */
export function checkFeatureNames(names: readonly string[], source: string): void {
  for (const n of names) {
    if (typeof n !== 'string' || !((LTR_BASE_FEATURES as readonly string[]).includes(n) || (n.startsWith(LTR_META_PREFIX) && n.length > LTR_META_PREFIX.length))) {
      throw new PlaitError('LTR_MODEL_INVALID', { message: `${source}: unknown feature ${JSON.stringify(n)} (feature set ${LTR_FEATURE_SET_VERSION} has ${LTR_BASE_FEATURES.join(', ')}, ${LTR_META_PREFIX}<field>)`, source });
    }
  }
}

/** 1-based ranks by score, highest first; ties take the earlier candidate's rank first. */
function ranksOf(scores: Float64Array): Float64Array {
  const order = Array.from(scores, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const ranks = new Float64Array(scores.length);
  order.forEach((i, r) => (ranks[i] = r + 1));
  return ranks;
}

/** Raw MaxSim and best passage per candidate: the earlier stage's when every candidate has it with this weighting, else an exact rerank. */
async function maxSim(index: PipelineIndex, query: string, candidates: readonly FeatureCandidate[], idf: boolean): Promise<{ score: Float64Array; pid: Int32Array }> {
  if (candidates.every((c) => c.signals?.late?.idf === idf)) {
    return { score: Float64Array.from(candidates, (c) => c.signals!.late!.score), pid: Int32Array.from(candidates, (c) => c.signals!.late!.pid) };
  }
  const hits = await index.rerank(query, candidates.map((c) => c.docId), { idfWeighting: idf });
  const byId = new Map(hits.map((h) => [h.docId, h] as const));
  return { score: Float64Array.from(candidates, (c) => byId.get(c.docId)?.score ?? NaN), pid: Int32Array.from(candidates, (c) => byId.get(c.docId)?.pid ?? -1) };
}

/**
 * The feature rows of `candidates` for `query`, row-major (candidates.length × names.length),
 * float32 as XGBoost reads them. `names` is the model's feature list (any order, any subset of set 1).
 * A cross score no stage left is missing (NaN), e.g. when the cross stage degraded; the pipeline
 * refuses up front a model that needs `cross` without a cross stage (LTR_FEATURE_MISSING).
 * @throws PlaitError DOCUMENT_NOT_FOUND for an unknown docId.
 */
export async function computeFeatures(on: PlaitIndex | PipelineIndex, query: string, candidates: readonly FeatureCandidate[], names: readonly string[]): Promise<Float32Array> {
  checkObject('on', on, 'an open PlaitIndex or a PipelineIndex');
  checkString('query', query, 'a query (a string)');
  checkArray('candidates', candidates, 'an array of FeatureCandidates');
  checkStringArray('names', names, 'an array of feature names');
  const index = on instanceof PlaitIndex ? localPipelineIndex(on) : on;
  const n = candidates.length;
  const width = names.length;
  const rows = new Float32Array(n * width);
  if (n === 0) return rows;
  const docIds = candidates.map((c) => c.docId);
  const need = new Set(names);
  const wantLate = need.has('late_idf') || need.has('late_rank') || need.has('best_passage') || need.has('late_plain') || need.has('query_length');

  let bm25: Float64Array | null = null;
  if (need.has('bm25') || need.has('bm25_rank')) {
    if (candidates.every((c) => c.signals?.bm25 !== undefined)) bm25 = Float64Array.from(candidates, (c) => c.signals!.bm25!);
    else {
      const all = await index.bm25Scores(query, docIds);
      bm25 = Float64Array.from(candidates, (c, i) => c.signals?.bm25 ?? all[i]!);
    }
  }

  let lateIdf: Float64Array | null = null;
  let latePlain: Float64Array | null = null;
  let bestPassage: Float64Array | null = null;
  let queryLength = NaN;
  if (wantLate) {
    const encoder = await index.encoder();
    queryLength = encoder.rows(query, 'query').length;
    const withIdf = await maxSim(index, query, candidates, true);
    lateIdf = withIdf.score;
    if (need.has('late_plain')) latePlain = (await maxSim(index, query, candidates, false)).score;
    if (need.has('best_passage')) {
      const at = await index.passagePositions(candidates.map((c, i) => ({ docId: c.docId, pid: withIdf.pid[i]! })));
      bestPassage = Float64Array.from(at, (k) => (k < 0 ? NaN : k));
    }
  }

  const wantDocs = need.has('doc_length') || names.some((f) => f.startsWith(LTR_META_PREFIX));
  const got = wantDocs ? await index.documents(docIds) : null;
  // Features of documents a shard did not give would be made up: the ltr stage fails (and is skipped) naming the shards.
  if (got !== null && got.missingShards.length > 0) throw new PlaitError('CLUSTER_UNAVAILABLE', { message: `shard${got.missingShards.length === 1 ? '' : 's'} ${got.missingShards.join(', ')} did not give documents in time`, shards: got.missingShards });
  const docs = got?.documents ?? [];
  const lateRank = lateIdf === null ? null : ranksOf(lateIdf.map((s) => (Number.isNaN(s) ? -Infinity : s)));
  const bm25Rank = bm25 === null ? null : ranksOf(bm25);
  const perQuery = Number.isFinite(queryLength) && queryLength > 0 ? queryLength : NaN;

  for (let j = 0; j < width; j++) {
    const name = names[j]!;
    for (let i = 0; i < n; i++) {
      let v: number;
      switch (name) {
        case 'bm25': v = bm25![i]!; break;
        case 'late_idf': v = lateIdf![i]! / perQuery; break;
        case 'late_plain': v = latePlain![i]! / perQuery; break;
        case 'best_passage': v = bestPassage![i]!; break;
        case 'doc_length': {
          const d = docs[i];
          v = d === null || d === undefined ? NaN : bm25Length(indexText(d.title, d.text));
          break;
        }
        case 'query_length': v = queryLength; break;
        case 'cross': v = candidates[i]!.signals?.cross ?? NaN; break;
        case 'bm25_rank': v = bm25Rank![i]!; break;
        case 'late_rank': v = lateRank![i]!; break;
        default: {
          const raw = docs[i]?.metadata?.[name.slice(LTR_META_PREFIX.length)];
          v = typeof raw === 'number' && Number.isFinite(raw) ? raw : typeof raw === 'boolean' ? Number(raw) : NaN;
        }
      }
      rows[i * width + j] = v;
    }
  }
  return rows;
}
