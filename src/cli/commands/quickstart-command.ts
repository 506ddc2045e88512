import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { resolveIndexPath, checkFolderDestination, isIndexDir } from '../../format/index-path.js';
import { readManifest } from '../../format/index-reader.js';
import { PlaitError } from '../../errors/index.js';
import { matchCorpus } from '../corpus-match.js';
import { prepareOutputDir } from '../validate.js';
import { invokedAs, plural } from '../options.js';
import { openIndex } from '../../search/plait-index.js';
import { ProgressReporter } from '../progress.js';
import { announceBundledModel } from './model-commands.js';
import { runCliBuild } from './index-commands.js';

const SAMPLE = fileURLToPath(new URL('../../../../examples/sample-corpus.jsonl', import.meta.url));
const QUERIES = ['why does bread dough rise', 'how do planes stay in the air', 'ranking documents for a search query'];

/** `plait quickstart`: index the sample corpus shipped in the repo with the bundled model, then search it. */
export function registerQuickstartCommand(program: Command): void {
  program
    .command('quickstart')
    .description('index the bundled sample corpus with the bundled offline model and run three searches')
    .option('-i, --index <name-or-path>', 'where to build it', 'sample')
    .action(async (o: { index: string }) => {
      prepareOutputDir(dirname(resolveIndexPath(o.index)), '--index');
      checkFolderDestination(resolveIndexPath(o.index), 'choose another --index');
      await checkQuickstartOwn(resolveIndexPath(o.index));
      announceBundledModel();
      const progress = ProgressReporter.auto(false);
      const { manifest, path } = await runCliBuild(SAMPLE, { index: o.index }, { progress, json: false, quiet: false });
      process.stdout.write(`indexed ${plural(manifest.counts.documents, 'document')} (${plural(manifest.counts.passages, 'passage')}, ${plural(manifest.counts.tokens, 'token')}) into ${path}\n`);
      const index = await openIndex(path);
      try {
        for (const q of QUERIES) {
          const { hits, timings } = await index.search(q, { topK: 3, includeText: true });
          process.stdout.write(`\n> ${q}   (${timings.totalMs.toFixed(1)} ms, mode ${index.manifest.model.defaultMode})\n`);
          for (const h of hits) process.stdout.write(`  ${h.rank}. ${h.score.toFixed(3)}  ${h.docId}: ${h.title}\n`);
        }
        process.stdout.write(`\nnext: ${invokedAs()} search ${o.index} "your query" --text\n`);
      } finally {
        await index.close();
      }
    });
}

/**
 * An index already at quickstart's destination is rebuilt only when it is quickstart's own and
 * untouched: its documents exactly the sample corpus's, by count and by id, title and text (the
 * generation says nothing here: a rebuild, quickstart's own included, commits the next one). A second `npm run quickstart` had rebuilt the sample after the
 * user's `plait add` without a word, dropping what was added (and any index named with --index).
 * @throws PlaitError INDEX_EXISTS naming the index's generation and document count.
 */
async function checkQuickstartOwn(path: string): Promise<void> {
  if (!isIndexDir(path)) return;
  const manifest = readManifest(path);
  const documents = manifest.counts.documents;
  const match = await matchCorpus(path, SAMPLE, Infinity);
  if (match.compared === documents && match.matched === documents) return;
  const generation = manifest.generation ?? 0;
  throw new PlaitError('INDEX_EXISTS', {
    message: `${path} holds an index that is not quickstart's untouched sample (generation ${generation}, ${plural(documents, 'document')}): choose another --index, or remove it first`,
    path,
  });
}
