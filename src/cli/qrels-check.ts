/**
 * `plait eval` and `plait ltr train` check their qrels against the index before any search
 * (eval/qrels-coverage.ts says why): none of the judged-relevant documents in the index is
 * INVALID_INPUT, some missing is a warning naming how many and the first.
 */
import { PlaitError } from '../errors/index.js';
import { qrelsCoverage } from '../eval/qrels-coverage.js';
import type { Qrels } from '../eval/qrels.js';
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
