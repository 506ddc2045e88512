/**
 * Passages ↔ documents. The index scores passages (long documents are split into windows); users
 * get documents. A document's score is its best passage's (ColBERT's and BEIR's MaxP), and the
 * hit names that passage. Document d's passages have consecutive pids (the indexer writes them
 * document by document), so [firstPid[d], firstPid[d + 1]) lists them.
 */
import type { ScoredDoc } from './fusion.js';

export interface CollapsedDocs {
  /** Documents (docstore rowids) best first; ties broken by rowid. */
  docs: ScoredDoc[];
  /** Each document's best passage. */
  pidOf: Map<number, number>;
}

export class DocPassages {
  private firstPid: Int32Array | null = null;

  /** pidToDoc[pid] is the passage's document rowid; nDocs the number of documents. */
  constructor(
    private readonly pidToDoc: Int32Array,
    private readonly nDocs: number,
  ) {}

  /** Max over each document's scored passages (ties: the lower pid). */
  collapse(pids: Int32Array, scores: Float32Array): CollapsedDocs {
    const best = new Map<number, number>();
    const pidOf = new Map<number, number>();
    for (let i = 0; i < pids.length; i++) {
      const doc = this.pidToDoc[pids[i]!]!;
      const s = scores[i]!;
      const cur = best.get(doc);
      if (cur === undefined || s > cur || (s === cur && pids[i]! < pidOf.get(doc)!)) {
        best.set(doc, s);
        pidOf.set(doc, pids[i]!);
      }
    }
    const docs = [...best].map(([key, score]) => ({ key, score })).sort((a, b) => b.score - a.score || a.key - b.key);
    return { docs, pidOf };
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
