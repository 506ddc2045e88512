/**
 * `plait eval` and `plait ltr train` check their qrels against the index before any search
 * (eval/qrels-coverage.ts says why): none of the judged-relevant documents in the index is
 * INVALID_INPUT, some missing is a warning naming how many and the first.
 */
import { PlaitError } from '../errors/index.js';
import { qrelsCoverage } from '../eval/qrels-coverage.js';
import type { Qrels } from '../eval/qrels.js';
import { disjointIdsHint } from '../eval/id-mismatch.js';
import type { PlaitIndex } from '../search/plait-index.js';
import { withHint } from './report-error.js';

/**
 * @param use what the judgments are for, in the messages ("evaluated", "trained on")
 * @throws PlaitError INVALID_INPUT when the index holds none of the queries' judged-relevant documents
 */
export function checkQrelsInIndex(index: PlaitIndex, qrels: Qrels, queryIds: Iterable<string>, qrelsPath: string, use: 'evaluated' | 'trained on'): void {
  const c = qrelsCoverage(qrels, queryIds, (ids) => ids.map((id) => index.docstore.docIdToRowid(id) !== null));
  if (c.missing === 0 || c.firstMissing === null) return;
  const first = `"${c.firstMissing.docId}", judged relevant for query "${c.firstMissing.queryId}"`;
  if (c.missing === c.relevant) {
    const err = new PlaitError('INVALID_INPUT', {
      message: `none of the ${c.relevant} documents judged relevant in ${qrelsPath} for the queries ${use} is in the index ${index.path} (first: ${first}): every metric would be 0 whatever the ranking`,
      file: qrelsPath,
      relevant: c.relevant,
    });
    throw withHint(err, "give the qrels of the corpus this index was built from; their corpus ids must be the index's document ids (the corpus's id field, --id-field)");
  }
  process.stderr.write(
    `plait: warning: ${c.missing} of the ${c.relevant} documents judged relevant in ${qrelsPath} are not in the index ${index.path} (first: ${first}); they count as not found\n`,
  );
}

/**
 * Refuses queries none of which the qrels judge (`plait eval`, `plait ltr train`), with examples of
 * both files' query ids and how they differ (eval/id-mismatch.ts): it had said only "none of the 3
 * queries has judgments in qrels.tsv".
 * @param qrelsQueryIds the query ids the qrels judge, as read (before unasked ones are left out)
 * @throws PlaitError INVALID_INPUT (`details.file`: the qrels) when no query of `queries` is among them
 */
export function checkJudgedQueries(queries: readonly { id: string }[], qrelsQueryIds: readonly string[], queriesPath: string, qrelsPath: string): void {
  const judged = new Set(qrelsQueryIds);
  if (queries.some((q) => judged.has(q.id))) return;
  const hint = disjointIdsHint(queries.map((q) => q.id), queriesPath, qrelsQueryIds, qrelsPath);
  throw new PlaitError('INVALID_INPUT', { message: `none of the ${queries.length} queries has judgments in ${qrelsPath}${hint}`, file: qrelsPath });
}
