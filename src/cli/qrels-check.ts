/**
 * `plait eval` and `plait ltr train` check their qrels against the index before any search
 * (eval/qrels-coverage.ts says why): none of the judged-relevant documents in the index is
 * INVALID_INPUT, some missing is a warning naming how many and the first.
 */
import type { Qrels } from '../eval/qrels.js';
import { qrelsInIndex, unjudgedQueriesError } from '../eval/judgments-check.js';
import type { PlaitIndex } from '../search/plait-index.js';
import { withHint } from './report-error.js';

/**
 * @param use what the judgments are for, in the messages ("evaluated", "trained on")
 * @throws PlaitError INVALID_INPUT when the index holds none of the queries' judged-relevant documents
 */
export function checkQrelsInIndex(index: PlaitIndex, qrels: Qrels, queryIds: Iterable<string>, qrelsPath: string, use: 'evaluated' | 'trained on'): void {
  const { error, warning } = qrelsInIndex(qrels, queryIds, (ids) => ids.map((id) => index.docstore.docIdToRowid(id) !== null), qrelsPath, index.path, use);
  if (error !== null) throw withHint(error, "give the qrels of the corpus this index was built from; their corpus ids must be the index's document ids (the corpus's id field, --id-field)");
  if (warning !== null) process.stderr.write(`plait: warning: ${warning}\n`);
}

/**
 * Refuses queries none of which the qrels judge (`plait eval`, `plait ltr train`), with examples of
 * both files' query ids and how they differ (eval/judgments-check.ts): it had said only "none of the 3
 * queries has judgments in qrels.tsv".
 * @param qrelsQueryIds the query ids the qrels judge, as read (before unasked ones are left out)
 * @throws PlaitError INVALID_INPUT (`details.file`: the qrels) when no query of `queries` is among them
 */
export function checkJudgedQueries(queries: readonly { id: string }[], qrelsQueryIds: readonly string[], queriesPath: string, qrelsPath: string): void {
  const error = unjudgedQueriesError(queries, qrelsQueryIds, queriesPath, qrelsPath);
  if (error !== null) throw error;
}
