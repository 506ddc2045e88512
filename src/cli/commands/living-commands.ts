/**
 * The living index on the command line (issue 12): `plait add <index> <corpus>` (upsert; same
 * corpus readers, file:line errors and --skip-invalid as `plait index`), `plait delete <index>
 * --ids <file>` (one docId a line) and `plait compact <index>`. Each commits one generation.
 * `plait backup <index> <dest>` copies one (mutate/index-backup.ts); `plait restore <backup> <index>`
 * brings a copy back, onto a new name or, with --force, over the index (mutate/index-restore.ts).
 */
import type { CorpusFieldNames } from '../../format/manifest.js';
import type { Command } from 'commander';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { decodeInputText } from '../../util/input-bytes.js';
import { basename, dirname, join, resolve } from 'node:path';
import { CLUSTER_MANIFEST_FILE, readClusterManifest } from '../../cluster/cluster-manifest.js';
import { addCorpus, type AddCorpusResult } from '../../mutate/add-corpus.js';
import { updateIndex, compactIndex, documentExists } from '../../mutate/index-updater.js';
import { backupIndex } from '../../mutate/index-backup.js';
import { notABackup, restoreIndex } from '../../mutate/index-restore.js';
import { locateIndex, resolveIndexPath } from '../../format/index-path.js';
import { readManifest } from '../../format/index-reader.js';
import { PlaitError, isPlaitError } from '../../errors/index.js';
import { ProgressReporter } from '../progress.js';
import { LIVING_DEFAULTS, LOCK_WAIT_DEFAULTS } from '../../config/defaults.js';
import { withLockWait, type LockWaitOptions } from '../../mutate/lock-wait.js';
import type { CorpusFormat, CorpusReaderOptions, CorpusWarning } from '../../indexer/corpus/types.js';
import type { EncoderOptions } from '../../encoder/types.js';
import { parseIntArg, plural, printJson } from '../options.js';
import { withHint } from '../report-error.js';
import { parseFilter } from '../../docstore/metadata-filter.js';
import { commitIdOf } from '../../format/index-transaction.js';
import type { IndexManifest } from '../../format/manifest.js';
import { WriteInterrupts } from '../interrupt.js';
import { withCorpusInput } from '../stdin-corpus.js';
import { csvHeaderIdColumn } from '../../indexer/corpus/resolve-input.js';
import { SKIP_INVALID_HELP, skipInvalidApplies, skippedNote, withCorpusOptions } from './index-commands.js';

export interface AddCliOptions {
  replace: boolean;
  sync?: boolean;
  dryRun?: boolean;
  maxDelete?: number | 'all';
  skipInvalid?: boolean;
  quiet?: boolean;
  format?: CorpusFormat;
  idField?: string;
  textField?: string;
  titleField?: string;
  threads?: number;
  lockWaitS?: number;
  json?: boolean;
}

/** Every command takes -q as `plait index` does; these print no progress, only their result line. */
const QUIET_HELP = 'no progress output (this command prints only its result)';

/** `--lock-wait-s`: how long add / delete / compact / backup (and cluster publish) wait for another writer's lock. */
export const LOCK_WAIT_OPTION = [
  '--lock-wait-s <s>',
  `seconds to wait while another writer (an add, a compaction, a backup) holds the index's write lock, then INDEX_LOCKED (default: ${LOCK_WAIT_DEFAULTS.waitMs / 1000}; 0: fail at once)`,
  parseIntArg('lockWaitS', 0),
] as const;

/** The library's lock-wait options from `--lock-wait-s`, telling the user on stderr why nothing happens meanwhile. */
export function lockWait(o: { lockWaitS?: number; json?: boolean }): LockWaitOptions {
  const waitS = o.lockWaitS ?? LOCK_WAIT_DEFAULTS.waitMs / 1000;
  return {
    ...(o.lockWaitS === undefined ? {} : { lockWaitMs: o.lockWaitS * 1000 }),
    // Names the holder and how long plait waits: INDEX_LOCKED's own message ends "retry when it has
    // finished", advice for a refusal that read as a failure while plait was retrying by itself.
    onLockWait: (e) => {
      const d = e.details ?? {};
      const holder = d['pid'] === undefined ? String(d['message'] ?? e.message) : `${String(d['path'])} is being written by pid ${String(d['pid'])} on ${String(d['hostname'])} since ${String(d['startedAt'])}`;
      process.stderr.write(`plait: waiting for the write lock (up to ${waitS} s, --lock-wait-s): ${holder}\n`);
    },
  };
}

/** The reader and encoder options that `withCorpusOptions` and --skip-invalid parsed. */
export function corpusReadOptions(o: Omit<AddCliOptions, 'replace' | 'json'>): CorpusReaderOptions & { encoderOptions: EncoderOptions } {
  const { skipInvalid, format, idField, textField, titleField, threads } = o;
  return { skipInvalid, format, idField, textField, titleField, encoderOptions: threads === undefined ? {} : { threads } };
}

/**
 * The ids of an id file (one a line, blank lines skipped); `plait delete --ids` and `plait cluster
 * delete --ids`. `-` reads standard input (`jq -r 'select(.metadata.retracted) | ._id' corpus.jsonl | plait delete idx --ids -`),
 * as does a pipe such as `/dev/stdin` (read once). A folder is FILE_NOT_FOUND (it had been an
 * EISDIR stack trace), as is `-` with nothing piped in (a terminal). A gzip'd id list is read
 * decompressed; a corrupt one, another compression or a non-UTF-8 list is refused by name (and line):
 * read as UTF-8 its ids had matched nothing.
 */
export async function readIdFile(path: string, command = 'plait delete <index>'): Promise<string[]> {
  let bytes: Buffer;
  if (path === '-') {
    if (process.stdin.isTTY) throw new PlaitError('FILE_NOT_FOUND', { message: '--ids -: standard input is a terminal; pipe the ids in (one a line) or give a file', path, option: '--ids' });
    // Streamed, not readFileSync(0): a pipe left non-blocking by its writer answers EAGAIN to a synchronous read.
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    bytes = Buffer.concat(chunks);
  } else {
    if (!existsSync(path)) throw new PlaitError('FILE_NOT_FOUND', { message: `no id file at ${path}`, path, option: '--ids' });
    if (statSync(path).isDirectory()) throw new PlaitError('FILE_NOT_FOUND', { message: `--ids: ${path} is a folder, not a file of ids`, path, option: '--ids' });
    bytes = readFileSync(path);
  }
  const source = path === '-' ? 'standard input' : path;
  const ids = decodeInputText(bytes, source, 'id')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  refuseCorpusAsIds(ids, source, path, command);
  // jq without -r prints each id as a JSON string: "p1" is then not the id p1, and the delete finds
  // nothing ("1 not in the index: "p1"", exit 0). An id may hold quotes, so they are kept, and said.
  if (ids.length > 0 && ids.every((id) => /^"(?:[^"\\]|\\.)*"$/.test(id))) {
    process.stderr.write(`plait: warning: every id read from ${source} is in double quotes (${ids[0]}), as jq prints strings without -r; the quotes are read as part of the ids (use jq -r)\n`);
  }
  return ids;
}

/** The id fields of a JSONL corpus, in the order plait add looks for them (corpus reader's generic JSONL). */
const JSONL_ID_FIELDS = ['_id', 'id', 'docid', 'doc_id', 'docId'] as const;

/**
 * Refuses a corpus given as the id list — `plait delete idx --ids corpus.jsonl` (the documents to take
 * out, in plait add's input format), a CSV corpus (its header line) or a TSV corpus — with the command that lists its ids. Read one
 * line an id, none of its lines could be an id the index holds (a TSV line holds a tab, which no
 * document id may: document-id.ts), and the delete answered "nothing deleted; 1 not in the index:
 * {"_id": …}" with exit 0 (trial 13). A JSON object is taken as a corpus line only when every line
 * is one (an id may hold braces).
 * @throws PlaitError INVALID_INPUT naming the file (`details.file`) and the first such line.
 */
function refuseCorpusAsIds(ids: readonly string[], source: string, path: string, command: string): void {
  const file = path === '-' ? undefined : path;
  const objects = ids.length > 0 ? ids.map(jsonObject) : [];
  if (objects.length > 0 && objects.every((o) => o !== undefined)) {
    const field = JSONL_ID_FIELDS.find((f) => f in objects[0]!) ?? '_id';
    const list = file === undefined ? `… | jq -r '.${field}'` : `jq -r '.${field}' ${file}`;
    throw new PlaitError('INVALID_INPUT', {
      message: `${source} line 1 is a JSON object, not a document id: --ids reads one id a line, and a corpus's lines are no ids; delete its documents by their "${field}": ${list} | ${command} --ids -`,
      ...(file === undefined ? {} : { file }),
      line: 1,
      option: '--ids',
    });
  }
  // A CSV corpus's first line is its header (`id,title,text,year`): read as ids, the header and every
  // row were "not in the index", exit 0, as a JSONL corpus had been. An id may hold commas, but not
  // one line naming both an id column and a `text` column, as plait's CSV reader requires.
  const idColumn = ids.length > 0 ? csvHeaderIdColumn(ids[0]!) : undefined;
  if (idColumn !== undefined) {
    const script = `python3 -c 'import csv,sys; [print(r[sys.argv[1]]) for r in csv.DictReader(${file === undefined ? 'sys.stdin' : 'open(sys.argv[2], encoding="utf-8-sig")'})]' ${shellWord(idColumn)}${file === undefined ? '' : ` ${shellWord(file)}`}`;
    throw new PlaitError('INVALID_INPUT', {
      message: `${source} line 1 is a CSV header (${JSON.stringify(ids[0]!.slice(0, 60))}), not a document id: --ids reads one id a line, and a CSV corpus's rows are no ids; delete its documents by their "${idColumn}" column: ${file === undefined ? '… | ' : ''}${script} | ${command} --ids -`,
      ...(file === undefined ? {} : { file }),
      line: 1,
      option: '--ids',
    });
  }
  const tabbed = ids.findIndex((id) => id.includes('\t'));
  if (tabbed >= 0) {
    throw new PlaitError('INVALID_INPUT', {
      message: `${source}: an id read from it holds a tab (${JSON.stringify(ids[tabbed]!.slice(0, 60))}), which no document id may: a TSV corpus? its ids are its first column: ${file === undefined ? '… | cut -f1' : `cut -f1 ${file}`} | ${command} --ids -`,
      ...(file === undefined ? {} : { file }),
      option: '--ids',
    });
  }
}

/**
 * addCorpus' syncDeleteLimit refusal in the CLI's words: the limit named as the flag that set it
 * (`--max-delete 12`, not the library's `maxDelete 12`) and a command line that runs as given —
 * `plait add <index> <input> --sync --max-delete <n>` (it had said `plait add --sync --max-delete <n>`,
 * which lacks both arguments). Details unchanged.
 */
function syncDeleteLimitForCli(err: PlaitError, index: string, input: string, asked: number | 'all' | undefined): PlaitError {
  const d = err.details ?? {};
  const [would, live, limit] = [Number(d['wouldDelete']), Number(d['documents']), Number(d['maxDelete'])];
  const source = input === '-' ? 'standard input' : input;
  const bound = asked === undefined ? `the ${limit} a sync deletes by default (half the documents, at least ${LIVING_DEFAULTS.syncMaxDeleteFloor})` : `--max-delete ${limit}`;
  const rerun = `plait add ${shellWord(index)} ${shellWord(input)} --sync --max-delete ${would} (${input === '-' ? 'piping the input in again; ' : ''}--max-delete all for no limit)`;
  return new PlaitError('INVALID_INPUT', {
    ...d,
    message: `the sync would delete ${would} of the index's ${live} documents (those ${source} does not hold), more than ${bound}: nothing was changed. Is it the whole folder or corpus the index mirrors? If those deletions are meant, allow them: ${rerun}`,
  });
}

/** `word` as one shell word: bare when it holds only safe characters, else in single quotes. */
function shellWord(word: string): string {
  return /^[\w./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `line` parsed as a JSON object, or undefined when it is none. */
function jsonObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `plait add|delete` on a shard of a cluster (`<name>/shard-<i>` beside a cluster.json) would
 * commit to that one copy only: not to the shard's other replicas, not to its write log (a replica
 * serving the folder never sees it in the log; a document of another shard lands here). Refused
 * (USAGE), pointing at the cluster's write path.
 */
function refuseClusterShard(index: string, verb: 'add' | 'delete'): void {
  const path = locateIndex(index);
  const m = /^shard-(\d+)$/.exec(basename(resolve(path)));
  const root = dirname(resolve(path));
  if (m === null || !existsSync(join(root, CLUSTER_MANIFEST_FILE))) return;
  const name = readClusterManifest(root).name;
  throw new PlaitError('USAGE', {
    message: `${path} is shard ${m[1]} of cluster ${name}: a plait ${verb} here would reach this copy only, not the shard's other replicas nor its write log; use plait cluster ${verb} ${root} … --nats <url> (or a coordinator's document routes) so that every replica applies it`,
    reason: 'clusterShard',
  });
}

/**
 * The passages of a committed generation, split: those search reads, and those of replaced or
 * deleted documents that stay in the segments, tombstoned, until compaction (the manifest's
 * `counts.passages` holds both). `plait add` and `plait delete` print it, text and JSON.
 */
export function passageCounts(m: IndexManifest): { live: number; awaitingCompaction: number } {
  const dead = m.tombstones?.deleted ?? 0;
  return { live: m.counts.passages - dead, awaitingCompaction: dead };
}

/** "4201 documents, 4201 passages searched; 3 passages of replaced or deleted documents awaiting compaction (plait compact)". */
function describeCounts(m: IndexManifest): string {
  const p = passageCounts(m);
  const dead = p.awaitingCompaction > 0 ? `; ${plural(p.awaitingCompaction, 'passage')} of replaced or deleted documents awaiting compaction (plait compact)` : '';
  return `${plural(m.counts.documents, 'document')}, ${plural(p.live, 'passage')} searched${dead}`;
}

/**
 * `plait add`'s summary line. New documents and replaced ones apart; the index's passages without the
 * replaced ones' old passages, which stay tombstoned until compaction (counted apart). Unchanged
 * documents (neither encoded nor replaced) are counted when there are any; a sync adds its
 * unchanged and deleted counts always ("added 1 new document, replaced 1 document, 198 unchanged,
 * deleted 1 document (generation 3; …)"); a dry run says what it would do and that it wrote nothing.
 */
function describeAdd(r: AddCorpusResult, sync: boolean): string {
  const counts =
    `${r.dryRun ? 'would add' : 'added'} ${plural(r.added, 'new document')}, ${r.dryRun ? 'replace' : 'replaced'} ${plural(r.replaced, 'document')}` +
    (sync || r.unchanged > 0 ? `, ${r.unchanged} unchanged` : '') +
    (sync ? `, ${r.dryRun ? 'delete' : 'deleted'} ${plural(r.deleted, 'document')}` : '');
  if (r.dryRun) return `${counts} (dry run: nothing written; generation ${r.generation}, ${plural(r.manifest.counts.documents, 'document')})`;
  if (!r.committed) return `${counts}: the index already holds the input (generation ${r.generation} unchanged; ${describeCounts(r.manifest)})`;
  return `${counts} (generation ${r.generation}; ${describeCounts(r.manifest)})`;
}

/** `--max-delete`: "all" or a non-negative integer. @throws PlaitError INVALID_ARGUMENT naming both spellings. */
function parseMaxDelete(value: string): number | 'all' {
  if (value === 'all') return 'all';
  if (!/^\d+$/.test(value.trim())) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a non-negative integer or "all" for --max-delete but received ${JSON.stringify(value)}`, name: 'maxDelete', received: value });
  return parseIntArg('maxDelete', 0)(value.trim());
}

export function registerLivingCommands(program: Command): void {
  const add = program
    .command('add')
    .description("add documents to an index (upsert by id) as one new generation: encoded with the index's model, compressed with its codec; existing segments are not rewritten; a document equal to the indexed one (title, text, metadata) is left as it is, not encoded")
    .argument('<index>', 'index name or path')
    .argument('<input>', 'corpus file or folder (the formats of plait index), or - for standard input (read whole first; its format: --format, else its first line)')
    .option('--no-replace', 'refuse an id already in the index (DOCUMENT_EXISTS; nothing is added) instead of replacing that document')
    .option('--sync', 'make the index hold exactly the input, in one generation: unchanged documents (same title, text and metadata) are not re-encoded, changed and new ones are upserted, indexed ids absent from the input are deleted (not with --no-replace or --skip-invalid)')
    .option('--dry-run', 'print what the add (or --sync) would do — added, replaced, unchanged, deleted — and write nothing (no model is loaded)')
    .option('--max-delete <n>', `with --sync: the most documents it may delete, or "all" (default: half the index's documents, at least ${LIVING_DEFAULTS.syncMaxDeleteFloor}; more is refused before anything is written, as a sign of the wrong input)`, parseMaxDelete)
    .option('--skip-invalid', SKIP_INVALID_HELP);
  withCorpusOptions(add)
    .option(...LOCK_WAIT_OPTION)
    .option('-q, --quiet', 'no progress output (progress: a bar on a terminal, JSON lines on a pipe, on stderr, as plait index)')
    .option('--json', 'print the result as JSON')
    .action(async (index: string, input: string, o: AddCliOptions) => {
      refuseClusterShard(index, 'add');
      // The library's refusal (INVALID_ARGUMENT, naming its option), in the flags' own words.
      if (o.sync === true && !o.replace) throw new PlaitError('USAGE', { message: '--sync replaces the documents that changed: it cannot be given with --no-replace', reason: 'conflictingArguments' });
      if (o.sync === true && o.skipInvalid === true) throw new PlaitError('USAGE', { message: '--sync deletes what the input does not hold, so a document --skip-invalid skipped would be deleted: fix the document (its file and line are named without --skip-invalid) and sync again', reason: 'conflictingArguments' });
      if (o.maxDelete !== undefined && o.sync !== true) throw new PlaitError('USAGE', { message: '--max-delete bounds what --sync deletes: a plain add deletes nothing (give --sync, or leave --max-delete out)', reason: 'conflictingArguments' });
      if (input !== '-' && !existsSync(input)) throw new PlaitError('FILE_NOT_FOUND', { message: `no corpus at ${input}`, path: input });
      const interrupts = WriteInterrupts.install(o.json === true);
      const progress = ProgressReporter.auto(o.quiet === true);
      let r;
      try {
        // `-`: standard input, read whole first (stdin-corpus.ts).
        r = await interrupts.run(() => withCorpusInput(input, 'plait add', (path, shown) => addCorpus(index, path, {
          onProgress: (p) => progress.update(p.phase, p.done, p.total, p.elapsedMs),
          noReplace: !o.replace,
          sync: o.sync === true,
          dryRun: o.dryRun === true,
          ...(o.maxDelete === undefined ? {} : { maxDelete: o.maxDelete }),
          ...corpusReadOptions(o),
          ...lockWait(o),
          // Top-level fields the reader does not read, named once each (with --json: report.ignoredFields).
          ...(o.json ? {} : { onWarning: (w: CorpusWarning) => process.stderr.write(`plait: warning: ${shown(w.message)}\n`) }),
        })));
      } catch (err) {
        progress.done();
        interrupts.dispose();
        if (isPlaitError(err, 'DOCUMENT_EXISTS')) {
          // Not an invalid document (--skip-invalid does not apply): the id is in the index already.
          const { id, line, file } = err.details ?? {};
          const refused = documentExists(String(id), '--no-replace', `line ${String(line)} of ${String(file)}`, { ...err.details, option: '--no-replace' });
          throw withHint(refused, `drop --no-replace to replace the indexed document, or remove line ${String(line)} of ${String(file)}`);
        }
        if (isPlaitError(err, 'INVALID_INPUT') && err.details?.['reason'] === 'syncDeleteLimit') throw syncDeleteLimitForCli(err, index, input, o.maxDelete);
        if (skipInvalidApplies(err, o.skipInvalid) && err.details?.['line'] !== undefined) {
          throw withHint(err, 'add --skip-invalid to skip such documents and report their counts by reason');
        }
        throw err;
      }
      progress.done();
      if (o.json) {
        printJson({
          path: r.path, generation: r.generation, commit: commitIdOf(r.manifest), committed: r.committed, dryRun: r.dryRun, sync: o.sync === true,
          added: r.added, replaced: r.replaced, unchanged: r.unchanged, deleted: r.deleted, encoded: r.encoded, compacted: r.compacted,
          counts: r.manifest.counts, passages: passageCounts(r.manifest), report: r.report, encodeMs: r.encodeMs, writeMs: r.writeMs,
          ...(r.recordedFields === undefined ? {} : { recordedFields: r.recordedFields }),
          ...(r.metadataWarnings === undefined ? {} : { metadataWarnings: r.metadataWarnings }),
        });
      } else {
        process.stdout.write(
          describeAdd(r, o.sync === true) +
            skippedNote(r.report.skipped) +
            (r.compacted ? '; compacted' : '') +
            '\n',
        );
        // A field the add left holding several JSON types (docstore/metadata-types.ts): committed, and said.
        for (const w of r.metadataWarnings ?? []) process.stderr.write(`plait: warning: ${w.message} [${w.code}]\n`);
        if (r.recordedFields !== undefined) process.stderr.write(`plait: note: ${input === '-' ? 'standard input' : input} was read with the JSONL fields the index was built with: ${describeFieldFlags(r.recordedFields)} (give the flag to read another)\n`);
      }
      interrupts.finish();
    });

  program
    .command('delete')
    .description('delete documents by id as one new generation (gone from every search mode at once; space reclaimed by compaction)')
    .argument('<index>', 'index name or path')
    .option('--ids <file>', 'file with one document id a line (- reads them from standard input)')
    .option('--filter <json>', 'delete every document whose metadata match this filter (the syntax of plait search --filter)')
    .option(...LOCK_WAIT_OPTION)
    .option('-q, --quiet', QUIET_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (index: string, o: { ids?: string; filter?: string; json?: boolean; lockWaitS?: number }) => {
      const path = locateIndex(index);
      refuseClusterShard(index, 'delete');
      if (o.ids === undefined && o.filter === undefined) throw new PlaitError('USAGE', { message: 'give --ids <file> and/or --filter <json>', reason: 'missingArgument' });
      const ids = o.ids === undefined ? [] : await readIdFile(o.ids, `plait delete ${index}`);
      const deleteWhere = o.filter === undefined ? undefined : parseFilter(o.filter);
      const interrupts = WriteInterrupts.install(o.json === true);
      const r = await interrupts.run(() => withLockWait(() => updateIndex(path, { delete: ids, deleteWhere }), lockWait(o))).catch((e: unknown) => {
        interrupts.dispose();
        throw e;
      });
      if (o.json) {
        printJson({ path, generation: r.generation, commit: commitIdOf(r.manifest), committed: r.committed, deleted: r.deleted, missing: r.missing, compacted: r.compacted, counts: r.manifest.counts, passages: passageCounts(r.manifest), ...(r.filterWarnings === undefined ? {} : { filterWarnings: r.filterWarnings }) });
        interrupts.finish();
        return;
      }
      process.stdout.write(
        (r.committed ? `deleted ${plural(r.deleted, 'document')} (generation ${r.generation}; left: ${describeCounts(r.manifest)})` : `nothing deleted: no generation committed (generation ${r.generation} unchanged; ${plural(r.manifest.counts.documents, 'document')})`) +
          (r.missing.length > 0 ? `; ${r.missing.length} not in the index: ${r.missing.slice(0, 5).join(', ')}${r.missing.length > 5 ? ', ...' : ''}` : '') +
          (r.compacted ? '; compacted' : '') +
          '\n',
      );
      // A filter that matched nothing says why, as plait search's line does (a typo, a number where text is stored);
      // one that compared a field of several JSON types says which values it could not take, matched or not.
      const mixed = (r.filterWarnings ?? []).filter((w) => w.code === 'FILTER_TYPE_MIXED');
      const why = (r.filterWarnings ?? []).filter((w) => w.code !== 'FILTER_TYPE_MIXED');
      const reasons = why.filter((w) => w.code !== 'FILTER_NO_MATCH');
      if (why.length > 0) process.stderr.write(`plait: no document passes --filter${reasons.length === 0 ? '' : `: ${reasons.map((w) => `${w.message} [${w.code}]`).join('; ')}`}\n`);
      for (const w of mixed) process.stderr.write(`plait: warning: ${w.message} [${w.code}]\n`);
      interrupts.finish();
    });

  program
    .command('compact')
    .description('rewrite the live passages into fresh segments and drop deleted ones (a new generation)')
    .argument('<index>', 'index name or path')
    .option(...LOCK_WAIT_OPTION)
    .option('-q, --quiet', QUIET_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (index: string, o: { json?: boolean; lockWaitS?: number }) => {
      const path = locateIndex(index);
      const before = readManifest(path);
      const interrupts = WriteInterrupts.install(o.json === true);
      const m = await interrupts.run(() => withLockWait(() => compactIndex(path), lockWait(o))).catch((e: unknown) => {
        interrupts.dispose();
        throw e;
      });
      // What compaction dropped: the passages awaiting it in the generation it compacted, known
      // when no other writer committed between the read above and the compaction (its generation
      // is then the next one); otherwise left unsaid rather than guessed.
      const dropped = m.generation === (before.generation ?? 0) + 1 ? passageCounts(before).awaitingCompaction : undefined;
      // compactIndex leaves an index with nothing to compact as it is (needsCompaction): the same generation.
      const unchanged = commitIdOf(m) === commitIdOf(before);
      // A build's manifest carries no generation field: it is generation 0 (as add and delete say).
      const generation = m.generation ?? 0;
      if (o.json) printJson({ path, compacted: !unchanged, generation, commit: commitIdOf(m), counts: m.counts, ...(dropped === undefined ? {} : { dropped }) });
      else if (unchanged) process.stdout.write(`nothing to compact in ${path}: generation ${generation} unchanged (one segment, no passages awaiting compaction)\n`);
      else {
        const what = dropped === undefined ? '' : dropped === 0 ? ' (no passages awaited compaction: segments rewritten only)' : ` (dropped ${plural(dropped, 'passage')} of replaced or deleted documents)`;
        process.stdout.write(`compacted ${path}: generation ${generation}, ${plural(m.counts.documents, 'document')}, ${plural(m.counts.passages, 'passage')}${what}\n`);
      }
      interrupts.finish();
    });

  program
    .command('backup')
    .description('copy an index into a new folder as of its last commit, while it serves and changes (a plain cp can miss the document store\'s -wal file or catch a write half-way)')
    .argument('<index>', 'index name or path')
    .argument('<dest>', 'new folder for the copy (absent or empty)')
    .option(...LOCK_WAIT_OPTION)
    .option('-q, --quiet', QUIET_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (index: string, dest: string, o: { json?: boolean; lockWaitS?: number }) => {
      const path = locateIndex(index);
      // A backup commits nothing in the index; interrupted, its unfinished copy is removed. It takes
      // the write lock before it creates anything, so a write holding it is waited out like add's.
      const interrupts = WriteInterrupts.install(o.json === true);
      const r = await interrupts.run(() => withLockWait(() => backupIndex(path, dest), lockWait(o))).catch((e: unknown) => {
        interrupts.dispose();
        throw e;
      });
      if (o.json) printJson({ path, dest: r.dest, generation: r.generation, files: r.files, bytes: r.bytes });
      else process.stdout.write(`backed up ${path} (generation ${r.generation}) to ${r.dest}: ${plural(r.files, 'file')}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB\n`);
      interrupts.finish(`the backup was finished: ${r.dest}`);
    });

  program
    .command('restore')
    .description('bring a backup back: check it whole (every file\'s size and CRC-32, the document store) before touching anything, then restore it onto a new name or, with --force, over an existing index as one commit (a crash leaves the old index or the restored one, whole; a server serving it switches to the restored generation as after any write)')
    .argument('<backup>', 'the backup\'s folder (made by plait backup, or any index)')
    .argument('<index>', 'index name or path to restore into: new, or an index to replace with --force')
    .option('-f, --force', 'replace the index at <index> (INDEX_EXISTS without it); it stays whole until the restored one commits')
    .option(...LOCK_WAIT_OPTION)
    .option('-q, --quiet', QUIET_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (backup: string, index: string, o: { force?: boolean; json?: boolean; lockWaitS?: number }) => {
      let src: string;
      try {
        src = locateIndex(backup);
      } catch (e) {
        // The backup is a folder named as given (a name that is an index found in the index home too): "no index" read as the wrong argument.
        if (isPlaitError(e, 'INDEX_NOT_FOUND')) throw notABackup(backup, e);
        throw e;
      }
      // Where `plait index --index <name>` would build: an existing index by name, else (a bare name) the index home.
      const dest = resolveIndexPath(index);
      // Interrupted before its commit, the restore is rolled back (its temporary folder removed, the lock released).
      const interrupts = WriteInterrupts.install(o.json === true);
      const r = await interrupts.run(() => restoreIndex(src, dest, { replace: o.force === true, ...lockWait(o) })).catch((e: unknown) => {
        interrupts.dispose();
        throw e;
      });
      if (o.json) printJson({ backup: src, path: r.path, replaced: r.replaced, backupGeneration: r.backupGeneration, generation: r.generation, commit: r.commit, files: r.files, bytes: r.bytes, counts: r.counts });
      else process.stdout.write(`restored ${src} (generation ${r.backupGeneration}) ${r.replaced ? 'over' : 'to'} ${r.path}: generation ${r.generation}, ${plural(r.counts.documents, 'document')}, ${plural(r.files, 'file')}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB\n`);
      interrupts.finish();
    });
}

/** `--id-field doc_id --text-field body` for a manifest's recorded field names. */
function describeFieldFlags(fields: CorpusFieldNames): string {
  const flags: Array<[keyof CorpusFieldNames, string]> = [['idField', '--id-field'], ['textField', '--text-field'], ['titleField', '--title-field'], ['metadataField', 'metadataField']];
  return flags.filter(([k]) => fields[k] !== undefined).map(([k, flag]) => `${flag} ${fields[k]!}`).join(' ');
}
