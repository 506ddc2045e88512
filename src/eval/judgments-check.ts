/**
 * Judgments checked against the queries and the index before any search, for every door that
 * takes qrels: `plait eval` and `plait ltr train` (src/cli/qrels-check.ts adds the file names and
 * the CLI's hint) and the library's `collectLtrGroups`. The library had no check: qrels of another
 * corpus ran every query's candidate pipeline and features (minutes on scifact's 809 training
 * queries) and then said "Expected at least 2 queries with a judged-relevant candidate but received
 * 0", and queries named "Q1" against qrels naming "q1" said the same after no search at all.
 * qrels-coverage.ts says why a missing judged document must be said; id-mismatch.ts how ids differ.
 */
import { plural } from '../util/plural.js';
import { PlaitError } from '../errors/index.js';
import { disjointIdsHint } from './id-mismatch.js';
import { qrelsCoverage } from './qrels-coverage.js';
import type { Qrels } from './qrels.js';

/**
 * The refusal for queries none of which the qrels judge, with examples of both sides' ids and
 * how they differ; null when some query is judged.
 * @param queriesName, qrelsName how to name the two sides (file paths, or "the queries" / "the qrels")
 */
export function unjudgedQueriesError(queries: readonly { id: string }[], qrelsQueryIds: readonly string[], queriesName: string, qrelsName: string): PlaitError | null {
  const judged = new Set(qrelsQueryIds);
  if (queries.some((q) => judged.has(q.id))) return null;
  const hint = disjointIdsHint(queries.map((q) => q.id), queriesName, qrelsQueryIds, qrelsName);
  return new PlaitError('INVALID_INPUT', { message: `none of the ${plural(queries.length, 'query', 'queries')} has judgments in ${qrelsName}${hint}`, file: qrelsName });
}

/**
 * How the documents judged relevant for `queryIds` meet the index: `error` (INVALID_INPUT) when
 * the index holds none of them (every metric would be 0, no model could learn), `warning` naming
 * how many and the first when it lacks some (they count as not found / unjudged), both null when
 * it holds them all or nothing is judged relevant.
 * @param holds for a list of doc ids, whether the index holds each (same order)
 * @param use what the judgments are for, in the messages ("evaluated", "trained on")
 */
export function qrelsInIndex(
  qrels: Qrels,
  queryIds: Iterable<string>,
  holds: (docIds: readonly string[]) => readonly boolean[],
  qrelsName: string,
  indexName: string,
  use: 'evaluated' | 'trained on',
): { error: PlaitError | null; warning: string | null } {
  const c = qrelsCoverage(qrels, queryIds, holds);
  if (c.missing === 0 || c.firstMissing === null) return { error: null, warning: null };
  const first = `"${c.firstMissing.docId}", judged relevant for query "${c.firstMissing.queryId}"`;
  if (c.missing === c.relevant) {
    const error = new PlaitError('INVALID_INPUT', {
      message: `none of the ${plural(c.relevant, 'document')} judged relevant in ${qrelsName} for the queries ${use} is in the index ${indexName} (first: ${first}): ${use === 'evaluated' ? 'every metric would be 0 whatever the ranking' : 'no query would have a relevant candidate to learn from'}`,
      file: qrelsName,
      relevant: c.relevant,
    });
    return { error, warning: null };
  }
  return { error: null, warning: `${c.missing} of the ${c.relevant} documents judged relevant in ${qrelsName} are not in the index ${indexName} (first: ${first}); they count as not found` };
}
