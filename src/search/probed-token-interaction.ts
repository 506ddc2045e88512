/**
 * PLAID's ranking of candidates by probed-token scores (PlaidParams.interactionScoring
 * 'probed-tokens'; issue 22). ColBERT ranks candidates twice by centroid interaction,
 * Σ_i w_i · max_j S[c_j, i] (S: the K × qLen centroid scores, c_j: document token j's centroid) —
 * pruned to ndocs, then in full to ndocs/4 — so the residual, much of a token's score with the
 * bundled model, is ignored until exact scoring, and short queries lose documents there
 * (bench/RESULTS.md, "Where ColBERT's defaults lose documents"). Here, as in WARP (Scheerer et al.
 * 2025, "implicit decompression" of the tokens WARP_SELECT retrieved), the tokens that candidate
 * generation retrieved are scored with their residuals, and every candidate is ranked at once:
 *
 *   score(P) = Σ_{i matched in P} w_i · max_{j ∈ P, c_j ∈ probed_i} (S[c_j, i] + q_i · r_j)
 *            + Σ_{i not matched}   w_i · max_{j ∈ P} S[c_j, i]
 *
 * where probed_i is query token i's probed cells (its top cells by S) and S[c, i] + q_i · r_j the
 * similarity on the codes (src/codec/code-scorer.ts 'fastscan': nibble tables, divided by the
 * token's ‖c + r‖ as ColBERT's decompression normalises; 'codes', the int16 table without a norm,
 * where fast-scan does not fit the width). A query token that retrieved nothing from P keeps its centroid
 * estimate; WARP imputes the last probed centroid's score instead, an upper bound of that estimate.
 *
 * Computed as a correction of the centroid interaction: probed_i is a top set of S[·, i], so when
 * P has any token in it, P's best centroid for i is in it too, and max_j S[c_j, i] is known from
 * the matched tokens alone. Hence score(P) = CI(P) + Σ_{i matched} w_i (e_i(P) − m_i(P)) with CI
 * the kernels' centroid interaction, e_i the best code similarity and m_i the best centroid score
 * among P's tokens matched to i. (With int8 stage-1 scores the probed cells are float32's top set
 * — plaid.ts ProbeRescore — so at the boundary an unprobed cell of P may score up to twice the int8
 * score error (≤ 0.009 at 512 d, bench/RESULTS.md) above P's best probed one, and the correction
 * then overstates w_i's term by at most that.)
 * With every cell probed, every token is matched and score(P) is
 * MaxSim on the codes (test/plaid-probed-tokens.test.ts). Cost: the centroid interaction, one pass
 * over the candidates' codes, and one code similarity per (query token, matched document token)
 * pair — a few thousand pairs for a keyword query on cisi (bench/RESULTS.md, part C).
 */
import type { Kernels } from '../kernels/types.js';
import type { IndexSegment } from '../format/index-reader.js';
import { prepareCodeQuery, scoreOnCodes, supportsFastScan, type CodeQuery } from '../codec/code-scorer.js';
import { segmentOf, type DeadlineCheck, type EncodedQuery, type ScoringArrays } from './plaid.js';

/** Query tokens that probed each cell: `head[c]` is the first slot (i · p + j) or -1, `next[slot]` the next one. */
interface ProbeLists {
  head: Int32Array;
  next: Int32Array;
  perToken: number;
}

/** Query tokens of weight 0 (IDF of special tokens) get no list: their pairs could not change a score. */
function probeLists(nCentroids: number, probed: Int32Array, qLen: number, weights: Float32Array | null): ProbeLists {
  const perToken = qLen === 0 ? 0 : probed.length / qLen;
  const head = new Int32Array(nCentroids).fill(-1);
  const next = new Int32Array(probed.length).fill(-1);
  for (let slot = 0; slot < probed.length; slot++) {
    const c = probed[slot]!;
    if (c < 0 || (weights !== null && weights[(slot / perToken) | 0] === 0)) continue;
    next[slot] = head[c]!;
    head[c] = slot;
  }
  return { head, next, perToken };
}

/** Growable pair buffers: query token, survivor index, segment-local token row. */
class Pairs {
  tok: Int32Array = new Int32Array(1024);
  doc: Int32Array = new Int32Array(1024);
  row: Int32Array = new Int32Array(1024);
  n = 0;
  push(tok: number, doc: number, row: number): void {
    if (this.n === this.tok.length) {
      const grow = (x: Int32Array): Int32Array => {
        const y = new Int32Array(x.length * 2);
        y.set(x);
        return y;
      };
      this.tok = grow(this.tok);
      this.doc = grow(this.doc);
      this.row = grow(this.row);
    }
    this.tok[this.n] = tok;
    this.doc[this.n] = doc;
    this.row[this.n++] = row;
  }
}

/**
 * Probed-token scores of the given passages (see the module header).
 * @param s K × qLen centroid scores of stage 1 (row c = centroid c)
 * @param probed qLen × p probed cells (probeAndMask's `probed`; -1 pads a token with fewer)
 * @param pids passages to score (any order); the result is in the same order
 */
export function probedTokenScores(a: ScoringArrays, q: EncodedQuery, s: Float32Array, probed: Int32Array, pids: Int32Array, kernels: Kernels, check?: DeadlineCheck): Float32Array {
  const qLen = q.length;
  const n = pids.length;
  const out = new Float32Array(n);
  if (n === 0 || qLen === 0) return out;
  centroidInteractionOf(a, s, q, pids, kernels, out);
  check?.();
  const lists = probeLists(a.nCentroids, probed, qLen, q.weights);
  const cq = pairQuery(a, q, kernels);
  // Best similarity on the codes (e) and best centroid score (m) among the matched tokens, per (survivor, query token).
  const e = new Float32Array(n * qLen).fill(-Infinity);
  const m = new Float32Array(n * qLen).fill(-Infinity);
  const bySegment = groupBySegment(a, pids);
  for (const [si, docs] of bySegment) {
    const seg = a.segments[si]!;
    const pairs = matchedPairs(a, seg, pids, docs, lists);
    scorePairs(a, q, s, cq, seg, pairs, kernels, e);
    for (let k = 0; k < pairs.n; k++) {
      const at = pairs.doc[k]! * qLen + pairs.tok[k]!;
      const sc = s[seg.codes[pairs.row[k]!]! * qLen + pairs.tok[k]!]!;
      if (sc > m[at]!) m[at] = sc;
    }
    check?.();
  }
  const w = q.weights;
  for (let d = 0; d < n; d++) {
    let corr = 0;
    for (let i = 0, at = d * qLen; i < qLen; i++, at++) if (e[at]! > -Infinity) corr += (w === null ? 1 : w[i]!) * (e[at]! - m[at]!);
    out[d] = out[d]! + corr;
  }
  return out;
}

/**
 * The query prepared for pair scoring: fast-scan's uint8 nibble tables where the width allows
 * (nBytes · 32 · qLen bytes: 32 KiB at 512 d, 2 bits, 8 tokens — cache-resident), else the int16
 * lookup table (nBytes · 256 · lanes · 2 bytes: 1 MiB there, so a pair's 128 lookups miss L2).
 * Measured on cisi's keyword queries in one run (load ~13): same top-10 (99.08%), top-100 97.51 →
 * 98.09%, the default's p50 1.53 → 1.30× ColBERT's (bench/RESULTS.md, part D).
 */
function pairQuery(a: ScoringArrays, q: EncodedQuery, kernels: Kernels): CodeQuery {
  return supportsFastScan(a) ? prepareCodeQuery(a, q.vectors, q.length, kernels, 'fastscan') : prepareCodeQuery(a, q.vectors, q.length, kernels);
}

/** Full (unpruned) centroid interaction of arbitrary pids, segment by segment, into out (same order as pids). */
function centroidInteractionOf(a: ScoringArrays, s: Float32Array, q: EncodedQuery, pids: Int32Array, kernels: Kernels, out: Float32Array): void {
  for (const [si, docs] of groupBySegment(a, pids)) {
    const seg = a.segments[si]!;
    const starts = new Int32Array(docs.length);
    const lens = new Int32Array(docs.length);
    docs.forEach((d, j) => {
      starts[j] = a.tokenStarts[pids[d]!]!;
      lens[j] = a.doclens[pids[d]!]!;
    });
    const part = new Float32Array(docs.length);
    kernels.centroidInteraction(s, q.length, seg.codes, starts, lens, docs.length, null, part, q.weights);
    docs.forEach((d, j) => (out[d] = part[j]!));
  }
}

/** Indices into `pids` grouped by the segment holding each passage. */
function groupBySegment(a: ScoringArrays, pids: Int32Array): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let d = 0; d < pids.length; d++) {
    const si = a.segments.length === 1 ? 0 : segmentOf(a, pids[d]!);
    let g = groups.get(si);
    if (g === undefined) groups.set(si, (g = []));
    g.push(d);
  }
  return groups;
}

/** Every (query token, survivor, token row) whose token's cell the query token probed, in one segment. */
function matchedPairs(a: ScoringArrays, seg: IndexSegment, pids: Int32Array, docs: number[], lists: ProbeLists): Pairs {
  const pairs = new Pairs();
  const { head, next, perToken } = lists;
  for (const d of docs) {
    const pid = pids[d]!;
    for (let row = a.tokenStarts[pid]!, end = row + a.doclens[pid]!; row < end; row++) {
      for (let slot = head[seg.codes[row]!]!; slot >= 0; slot = next[slot]!) pairs.push((slot / perToken) | 0, d, row);
    }
  }
  return pairs;
}

/**
 * Each pair's similarity on the codes, S[c_j, i] + q_i · r_j (code-scorer.ts, the 'codes' method: no
 * norm), folded into e by max: one scoreOnCodes call per query token over its rows as one-token
 * documents, with that token's weight 1 and the others' 0.
 */
function scorePairs(a: ScoringArrays, q: EncodedQuery, s: Float32Array, cq: CodeQuery, seg: IndexSegment, pairs: Pairs, kernels: Kernels, e: Float32Array): void {
  const qLen = q.length;
  // Counting sort of the pairs by query token.
  const first = new Int32Array(qLen + 1);
  for (let k = 0; k < pairs.n; k++) first[pairs.tok[k]! + 1]!++;
  for (let i = 0; i < qLen; i++) first[i + 1]! += first[i]!;
  const fill = first.slice(0, qLen);
  const order = new Int32Array(pairs.n);
  for (let k = 0; k < pairs.n; k++) order[fill[pairs.tok[k]!]!++] = k;
  const rows = new Int32Array(pairs.n);
  for (let k = 0; k < pairs.n; k++) rows[k] = pairs.row[order[k]!]!;
  const ones = new Int32Array(pairs.n).fill(1);
  const sims = new Float32Array(pairs.n);
  const oneHot = new Float32Array(qLen);
  for (let i = 0; i < qLen; i++) {
    const lo = first[i]!;
    const cnt = first[i + 1]! - lo;
    if (cnt === 0) continue;
    oneHot.fill(0);
    oneHot[i] = 1;
    scoreOnCodes(a, cq, s, seg.codes, seg.residuals, rows.subarray(lo, lo + cnt), ones.subarray(0, cnt), cnt, false, kernels, sims.subarray(lo, lo + cnt), oneHot);
  }
  for (let k = 0; k < pairs.n; k++) {
    const p = order[k]!;
    const at = pairs.doc[p]! * qLen + pairs.tok[p]!;
    if (sims[k]! > e[at]!) e[at] = sims[k]!;
  }
}
