import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { resolveIndexPath, checkFolderDestination } from '../../format/index-path.js';
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
