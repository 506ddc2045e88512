/**
 * Passages ↔ documents. The index scores passages (long documents are split into windows); users
 * get documents. A document's score is its best passage's (ColBERT's and BEIR's MaxP), and the
 * hit names that passage. Document d's passages have consecutive pids (the indexer writes them
 * document by document), so [firstPid[d], firstPid[d + 1]) lists them.
 */
import type { ScoredDoc } from './fusion.js';

/** The best `limit` of the touched documents by score (ties: lower rowid), best first: a bounded heap, O(n log limit). */
function topDocs(touched: readonly number[], score: Float32Array, limit: number): ScoredDoc[] {
  const worse = (a: number, b: number): boolean => score[a]! < score[b]! || (score[a] === score[b] && a > b);
  if (limit >= touched.length) {
    return touched
      .slice()
      .sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0))
      .map((key) => ({ key, score: score[key]! }));
  }
  const heap: number[] = []; // heap[0]: the worst kept
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (l + 1 < heap.length && worse(heap[l + 1]!, heap[m]!)) m = l + 1;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (const doc of touched) {
    if (heap.length < limit) {
      heap.push(doc);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[p]!)) break;
        [heap[i], heap[p]] = [heap[p]!, heap[i]!];
        i = p;
      }
    } else if (limit > 0 && worse(heap[0]!, doc)) {
      heap[0] = doc;
      down(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0)).map((key) => ({ key, score: score[key]! }));
}

export interface CollapsedDocs {
  /** Documents (docstore rowids) best first; ties broken by rowid. At most the limit asked for. */
  docs: ScoredDoc[];
  /** Each returned document's best passage. */
  pidOf: Map<number, number>;
  /** Distinct documents among the scored passages (may exceed docs.length). */
  distinct: number;
}

export class DocPassages {
  private firstPid: Int32Array | null = null;
  private maxPerDoc = 0;
  /** Per-document best score and passage, reused across calls (reset after each): no Map per passage. */
  private best: Float32Array | null = null;
  private bestPid: Int32Array | null = null;
  private seen: Uint8Array | null = null;

  /** Passages the tombstone bitmap hides (counted once, for passagesCovering). */
  private readonly nDeleted: number;

  /**
   * pidToDoc[pid] is the passage's document rowid; nDocs the number of document rowids (the
   * docstore's rowidSpan); `tombstones` (living index): bit pid set for a deleted passage, which
   * collapse() skips, so deleted documents never reach a result and the widening policy counts only
   * live documents.
   */
  constructor(
    private readonly pidToDoc: Int32Array,
    private readonly nDocs: number,
    private readonly tombstones: Uint8Array | null = null,
  ) {
    let n = 0;
    if (tombstones !== null) for (let i = 0; i < tombstones.length; i++) for (let b = tombstones[i]!; b !== 0; b &= b - 1) n++;
    this.nDeleted = n;
  }

  /** Whether the passage was deleted (living index). */
  isDeleted(pid: number): boolean {
    const t = this.tombstones;
    return t !== null && (t[pid >> 3]! & (1 << (pid & 7))) !== 0;
  }

  /**
   * Max over each document's scored passages (ties: the lower pid), then the best `limit`
   * documents. Measured on 40k passages, one per document (an exhaustive scan), this 2-core
   * machine: 95–102 ms with a Map per passage and a sort of every document, 6–15 ms with these
   * reused per-document arrays and a bounded heap for limit 10–100 (/tmp script: collapse() in a loop).
   */
  collapse(pids: Int32Array, scores: Float32Array, limit = Infinity, allowed: Uint8Array | null = null): CollapsedDocs {
    this.best ??= new Float32Array(this.nDocs);
    this.bestPid ??= new Int32Array(this.nDocs);
    this.seen ??= new Uint8Array(this.nDocs);
    const best = this.best;
    const bestPid = this.bestPid;
    const seen = this.seen;
    const touched: number[] = [];
    const tomb = this.tombstones;
    for (let i = 0; i < pids.length; i++) {
      const pid = pids[i]!;
      if (tomb !== null && (tomb[pid >> 3]! & (1 << (pid & 7))) !== 0) continue;
      const doc = this.pidToDoc[pid]!;
      if (allowed !== null && allowed[doc] === 0) continue; // a metadata filter's excluded document
      const s = scores[i]!;
      const cur = best[doc]!;
      if (seen[doc] === 0) {
        seen[doc] = 1;
        touched.push(doc);
        best[doc] = s;
        bestPid[doc] = pid;
      } else if (s > cur || (s === cur && pid < bestPid[doc]!)) {
        best[doc] = s;
        bestPid[doc] = pid;
      }
    }
    const docs = topDocs(touched, best, limit);
    const pidOf = new Map<number, number>();
    for (const d of docs) pidOf.set(d.key, bestPid[d.key]!);
    for (const doc of touched) seen[doc] = 0;
    return { docs, pidOf, distinct: touched.length };
  }

  /**
   * Passages an exhaustive scan must keep so that its top `k` documents are exact: with at most m
   * passages per document, a top-k document's best passage ranks within the top k·m passages.
   */
  passagesCovering(k: number): number {
    if (this.maxPerDoc === 0) {
      const first = this.docFirstPid();
      let m = 1;
      for (let d = 0; d + 1 < first.length; d++) m = Math.max(m, first[d + 1]! - first[d]!);
      this.maxPerDoc = m;
    }
    // Deleted passages may rank among the best; keeping that many more leaves k·m live ones.
    return Math.min(this.pidToDoc.length, Math.max(1, k) * this.maxPerDoc + this.nDeleted);
  }

  /** Passages in the index (deleted ones included). */
  get passageCount(): number {
    return this.pidToDoc.length;
  }

  /** How many passages document `docRowid` has. */
  passagesOfDoc(docRowid: number): number {
    const first = this.docFirstPid();
    return first[docRowid + 1]! - first[docRowid]!;
  }

  /** Every passage of the given documents, in document order. */
  pidsOf(docRowids: readonly number[]): Int32Array {
    const first = this.docFirstPid();
    let n = 0;
    for (const d of docRowids) n += first[d + 1]! - first[d]!;
    const out = new Int32Array(n);
    let o = 0;
    for (const d of docRowids) for (let pid = first[d]!; pid < first[d + 1]!; pid++) out[o++] = pid;
    return out;
  }

  /** docFirstPid[d]..docFirstPid[d + 1] are document d's pids; derived once from pidToDoc. */
  private docFirstPid(): Int32Array {
    if (this.firstPid === null) {
      const nDocs = this.nDocs;
      const first = new Int32Array(nDocs + 1).fill(-1);
      for (let pid = this.pidToDoc.length - 1; pid >= 0; pid--) first[this.pidToDoc[pid]!] = pid;
      first[nDocs] = this.pidToDoc.length;
      for (let d = nDocs - 1; d >= 0; d--) if (first[d] === -1) first[d] = first[d + 1]!;
      this.firstPid = first;
    }
    return this.firstPid;
  }
}
