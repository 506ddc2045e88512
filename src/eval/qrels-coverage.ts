/**
 * How many of the documents judged relevant for the evaluated queries an index holds.
 *
 * trec_eval scores a judged document that is not in the run as not found, and says nothing: qrels
 * of another corpus, or ids read from another field than the qrels name (`--id-field`), score 0
 * on every metric whatever the ranking. `plait eval <BEIR folder>` compares the folder's corpus
 * with the index; an index given with `--qrels` had no check at all (cisi's qrels on a 300-document
 * index built from part of it: 0.000 everywhere, without a word). This is the check for every
 * target: the CLI refuses when none is held and warns when some are missing.
 */

import type { Qrels } from './qrels.js';

export interface QrelsCoverage {
  /** Distinct documents judged relevant (grade > 0) for the queries evaluated. */
  relevant: number;
  /** Of those, how many the index does not hold. */
  missing: number;
  /** The first missing one (in qrels order) and a query that judged it relevant; null when none is missing. */
  firstMissing: { queryId: string; docId: string } | null;
}

/**
 * Counts the evaluated queries' relevant documents that `holds` says are absent.
 * @param qrels query id → (doc id → grade)
 * @param queryIds the queries evaluated (those without judgments are passed over)
 * @param holds for a list of doc ids, whether the index holds each (same order)
 */
export function qrelsCoverage(qrels: Qrels, queryIds: Iterable<string>, holds: (docIds: readonly string[]) => readonly boolean[]): QrelsCoverage {
  const judgedBy = new Map<string, string>();
  for (const qid of queryIds) {
    for (const [docId, grade] of qrels.get(qid) ?? []) if (grade > 0 && !judgedBy.has(docId)) judgedBy.set(docId, qid);
  }
  const ids = [...judgedBy.keys()];
  const held = holds(ids);
  let missing = 0;
  let firstMissing: QrelsCoverage['firstMissing'] = null;
  ids.forEach((docId, i) => {
    if (held[i] === true) return;
    missing++;
    firstMissing ??= { queryId: judgedBy.get(docId)!, docId };
  });
  return { relevant: ids.length, missing, firstMissing };
}
