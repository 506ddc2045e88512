/**
 * `buildShardedIndex(input, { index, shards })` (`plait index <corpus> --index <name> --shards <n>`):
 * one corpus → `<name>/shard-<i>`, each an ordinary plait index, plus `<name>/cluster.json`.
 *
 * Every shard is compressed with ONE codebook (centroids, residual cutoffs and weights) trained on
 * a sample of the whole corpus, so every shard scores on the same scale and a coordinator can
 * merge their top-k lists by score. The steps are buildIndex's (build-index.ts), over the whole
 * corpus: read and split every document (each stored in its shard's document store, `shardOf(docId)`),
 * sample, k-means, fit the codec, encode every passage ONCE and compress it; the compressed
 * passages are then copied, in order, into their shard's arrays (no re-encoding, no re-assignment)
 * and each shard gets its own IVF and token document frequencies.
 *
 * The corpus-wide arrays are written once to a working folder (twice the disk of the codes and
 * residuals while building); `unshardedIndex` keeps them as an ordinary index over the whole
 * corpus with the same codebook and the very same compressed passages, the oracle a cluster's
 * answers are checked against (test/cluster-search.test.ts).
 *
 * More shards than documents would leave shards empty (each a full index folder: 40 documents in
 * 100 shards made 60+ empty ones, 111 MB), so the build clamps the count to the corpus's documents
 * (read only that far to know it) and says so in `requestedShards` beside `cluster.shards`. The
 * CLI's `--shards` warns from that; the rule lives here only (`shardCountFor`).
 */
import { basename, join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { BUILD_DEFAULTS, BUILD_MEMORY_DEFAULTS, ENCODER_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument, isPlaitError, checkObject } from '../errors/index.js';
import { checkNbits } from '../codec/residual-codec.js';
import { createEncoder } from '../encoder/create-encoder.js';
import type { TokenEmbeddings } from '../encoder/types.js';
import { ENCODER_OPTION_KEYS } from '../encoder/types.js';
import { getKernels } from '../kernels/index.js';
import { INDEX_FILES, type IndexManifest } from '../format/manifest.js';
import { resolveIndexPath } from '../format/index-path.js';
import { loadIndexData } from '../format/index-reader.js';
import { commitIdOf } from '../format/index-transaction.js';
import { discardBuildDir, publishIndex, publishShardedBuild, sealBuild, temporaryBuildDir, temporaryShardedBuildDir } from '../format/publish.js';
import { corpusReaderOptionsOf, openCorpus } from '../indexer/corpus/index.js';
import { DocStoreWriter } from '../docstore/index.js';
import type { MetadataTypeWarning } from '../docstore/metadata-types.js';
import { compressPassages, type EmbeddingSource } from '../indexer/compress-passages.js';
import { IndexWriter } from '../indexer/index-writer.js';
import { resolveCentroidAssignment } from '../indexer/two-level-assign.js';
import { PassageSpill } from '../indexer/passage-spill.js';
import { splitLongText } from '../indexer/split-passages.js';
import { indexText } from '../indexer/index-text.js';
import { BUILD_OPTION_KEYS, embedInSteps, modelSpecFor, readSpill, recordedFieldsOf, type BuildOptions, type BuildPhase } from '../indexer/build-index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { shardOf } from './shard-of.js';
import { clusterSubjects } from './subjects.js';
import { ROUTING_JUMP_SHA256, codebookChecksum, shardDir, writeClusterManifest, type ClusterManifest } from './cluster-manifest.js';
import { modelIdentity } from './shard-mismatch.js';

export interface ShardedBuildOptions extends BuildOptions {
  /** Number of shards asked for, an integer in [1, 1024]; more than the corpus's documents builds one a document (`requestedShards`). */
  shards: number;
  /** Also publish the unsharded index (same codebook, same compressed passages) under this name or path. */
  unshardedIndex?: string;
}

export interface ShardedBuildResult {
  /** The cluster folder (`<name>`). */
  path: string;
  /** `cluster.shards` is the count built: `requestedShards`, or the corpus's documents when fewer (shardCountFor). */
  cluster: ClusterManifest;
  shards: IndexManifest[];
  /** The shard count asked for (`options.shards`). */
  requestedShards: number;
  /**
   * METADATA_TYPE_MIXED (docstore/metadata-types.ts), as buildIndex says it: each metadata field the
   * whole corpus holds with several JSON types, counted over every shard (a field of numbers in
   * shard 0's documents and strings in shard 1's is mixed; the sharded build had said nothing).
   * Absent when none.
   */
  metadataWarnings?: MetadataTypeWarning[];
}

/** ShardedBuildOptions' keys (option-keys.ts): buildIndex's and the two of a sharded build. */
const SHARDED_BUILD_OPTION_KEYS = { ...BUILD_OPTION_KEYS, shards: true, unshardedIndex: true } as const satisfies OptionKeys<ShardedBuildOptions>;

/**
 * The shard count a build of `input` makes when `requested` are asked for: `requested`, or the
 * corpus's document count when it is smaller (more shards would be empty). Reads the corpus as the
 * build does (same fields, same skipping), only up to `requested` documents. An empty corpus gives
 * `requested` (the build then refuses it with EMPTY_CORPUS).
 * @throws the corpus reader's errors (a file that cannot be read, an invalid document without skipInvalid).
 */
export async function shardCountFor(input: string | readonly string[], options: BuildOptions, requested: number): Promise<number> {
  checkObject('options', options, 'build options');
  let documents = 0;
  for await (const _ of await openCorpus(input, { ...corpusReaderOptionsOf(options), onWarning: () => {} })) if (++documents >= requested) break;
  return documents > 0 && documents < requested ? documents : requested;
}

/** Passages copied into a shard's writer per appendChunk call. */
const COPY_CHUNK_PASSAGES = 4096;

/** The whole corpus's scratch index (no `unshardedIndex`), inside shard 0's build folder. */
const WHOLE_SCRATCH = '.whole';

/**
 * Builds `min(options.shards, documents)` shards (shardCountFor); the result's `cluster.shards`
 * says how many, `requestedShards` how many were asked for.
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key, shards, index name not a NATS token),
 * EMPTY_CORPUS, INDEX_EXISTS, BUILD_FAILED, ABORTED, and buildIndex's errors.
 */
export async function buildShardedIndex(input: string | readonly string[], options: ShardedBuildOptions): Promise<ShardedBuildResult> {
  if (options !== null && typeof options === 'object') {
    checkOptionKeys(options, SHARDED_BUILD_OPTION_KEYS, 'buildShardedIndex option');
    checkOptionKeys(options.encoderOptions, ENCODER_OPTION_KEYS, 'encoder option');
  }
  if (typeof options?.index !== 'string' || options.index.length === 0) throw invalidArgument('index', 'an index name or path', options?.index);
  const requestedShards = options.shards;
  if (!Number.isInteger(requestedShards) || requestedShards < 1 || requestedShards > 1024) throw invalidArgument('shards', 'an integer in [1, 1024]', requestedShards);
  const root = resolveIndexPath(options.index);
  clusterSubjects(basename(root)); // the folder's name becomes the cluster's NATS name: check it first
  const n = await shardCountFor(input, options, requestedShards);
  const nbits = checkNbits(options.nbits ?? BUILD_DEFAULTS.nbits);
  const seed = options.seed ?? BUILD_DEFAULTS.seed;
  const assignment = resolveCentroidAssignment(options);
  const started = Date.now();
  const progress = (phase: BuildPhase, done: number, total: number): void => options.onProgress?.({ phase, done, total, elapsedMs: Date.now() - started });
  const checkAbort = (): void => {
    if (options.signal?.aborted) throw new PlaitError('ABORTED', { message: 'index build aborted' });
  };
  const ownEncoder = options.encoder === undefined;
  const encoder = options.encoder ?? (await createEncoder(await modelSpecFor(options), options.encoderOptions ?? {}));
  const info = encoder.info;
  const window = info.documentWindow;
  const split = options.split ?? true;
  const stride = options.stride ?? Math.max(1, Math.floor(window * BUILD_DEFAULTS.splitStrideFraction));
  if (!Number.isInteger(stride) || stride < 1 || stride > window) throw invalidArgument('stride', `an integer in [1, ${window}]`, stride);

  const stemmer = options.bm25Stemmer === undefined ? {} : { stemmer: options.bm25Stemmer };
  const wholeTarget = options.unshardedIndex === undefined ? null : resolveIndexPath(options.unshardedIndex);
  let tmpRoot: string | null = null;
  const shardTmps: string[] = [];
  const docstores: DocStoreWriter[] = [];
  let whole: string | null = null;
  let wholeStore: DocStoreWriter | null = null;
  let spill: PassageSpill | null = null;
  try {
    // The new root is built whole beside the old one and swapped in at the end (publish.ts
    // temporaryShardedBuildDir): nothing of a previous shape survives a rebuild, and a crash leaves
    // the old sharded index or the new one.
    tmpRoot = temporaryShardedBuildDir(root);
    for (let s = 0; s < n; s++) {
      shardTmps.push(shardDir(tmpRoot, s));
      mkdirSync(shardTmps[s]!);
      docstores.push(new DocStoreWriter(join(shardTmps[s]!, INDEX_FILES.docstore), stemmer));
    }
    // Without an unsharded target the whole is scratch, kept inside the build folder so that an
    // interrupted build's cleanup (and the next build's, after a kill) removes it with that folder; a
    // `.whole-*` folder of its own was left in the root by Ctrl-C, and the next build refused the root.
    whole = wholeTarget === null ? join(tmpRoot, WHOLE_SCRATCH) : temporaryBuildDir(wholeTarget);
    if (wholeTarget === null) mkdirSync(whole);
    wholeStore = new DocStoreWriter(join(whole, INDEX_FILES.docstore), stemmer);
    spill = new PassageSpill(join(whole, 'passages.spill'));

    // 1. Read and split; each document stored in its shard and in the whole (the corpus-wide pid
    //    order is the reading order; pidShard remembers each passage's shard).
    const corpus = await openCorpus(input, corpusReaderOptionsOf(options));
    let pidShard: Uint16Array = new Uint16Array(1024);
    const docsPerShard = new Array<number>(n).fill(0);
    let nDocs = 0;
    for await (const doc of corpus) {
      checkAbort();
      const s = shardOf(doc.docId, n);
      const full = indexText(doc.title, doc.text);
      const input = { docId: doc.docId, title: doc.title, text: doc.text, metadata: doc.metadata };
      const rowid = docstores[s]!.addDocument(input);
      const wholeRowid = wholeStore.addDocument(input);
      const pieces = split
        ? splitLongText(full, (t) => encoder.tokenize(t), window, stride, BUILD_MEMORY_DEFAULTS.splitBlockChars)
        : [{ text: full.slice(0, ENCODER_DEFAULTS.maxTextLength), start: 0, end: full.length }];
      for (const p of pieces) {
        docstores[s]!.addPassage(rowid, p.start, p.end);
        wholeStore.addPassage(wholeRowid, p.start, p.end);
        const pid = spill.append(p.text);
        if (pid >= pidShard.length) pidShard = grow(pidShard);
        pidShard[pid] = s;
      }
      docsPerShard[s]!++;
      if (++nDocs % 256 === 0) progress('read', nDocs, 0);
    }
    progress('read', nDocs, nDocs);
    const nPassages = spill.length;
    if (nPassages === 0) throw new PlaitError('EMPTY_CORPUS', { message: `${([] as string[]).concat(input).join(', ')} has no document to index (${nDocs} read)` });

    // 2–3. One codebook over the whole corpus; every passage encoded once (its token dfs counted
    //      into its shard's as it comes back) and compressed into the whole's arrays.
    const vocab = Math.max(0, info.vocabSize);
    const shardDf = Array.from({ length: n }, () => new Int32Array(vocab));
    const seen = new Int32Array(vocab).fill(-1);
    const countDf = (pids: Int32Array, embs: TokenEmbeddings[]): void => {
      embs.forEach((e, j) => {
        const pid = pids[j]!;
        const df = shardDf[pidShard[pid]!]!;
        for (const t of e.tokenIds) {
          if (t < 0 || t >= vocab || seen[t] === pid) continue;
          seen[t] = pid;
          df[t]!++;
        }
      });
    };
    const text = spill;
    const source: EmbeddingSource = {
      nPassages,
      dim: info.dim,
      vocabSize: info.vocabSize,
      embed: async (pids) => {
        const embs = await embedInSteps(pids, (p) => encoder.encodeDocuments(readSpill(text, p)), () => {});
        countDf(pids, embs);
        return embs;
      },
    };
    const c = await compressPassages(whole, source, { nbits, seed, chunkSize: options.chunkSize, segmentBytes: options.segmentBytes, assignment, kmeansIters: options.kmeansIters, kernels: getKernels(), progress, checkAbort });
    progress('ivf', 0, 1);
    c.writer.finishArrays();
    wholeStore.setTokenDf(c.df, nPassages);
    // The whole corpus's store counts every shard's documents: a field mixed across shards is mixed here.
    const typeWarnings = wholeStore.typeWarnings();
    wholeStore.close();
    wholeStore = null;
    spill.dispose();
    spill = null;
    const settings = { split, window, stride, kmeansIters: c.kmeansIters, seed, sampledPassages: c.sampledPassages, kmeansVectors: c.kmeansVectors, centroidAssignment: c.centroidAssignment, ...recordedFieldsOf(options) };
    const skipped = Object.fromEntries(Object.entries(corpus.report.skipped).filter(([, k]) => k > 0));
    const manifestOf = (w: IndexWriter, documents: number, passages: number) =>
      w.writeManifest({ createdAt: new Date().toISOString(), buildMs: Date.now() - started, model: info, modelSpec: encoder.spec, counts: { documents, passages, tokens: w.tokens, centroids: c.codec.nCentroids }, settings, avgResidual: c.avgResidual, skipped });
    manifestOf(c.writer, nDocs, nPassages);

    // 4. Each shard: its passages' codes and residuals copied in pid order, its IVF, token dfs, manifest.
    const data = loadIndexData(whole, getKernels());
    const bpt = c.codec.bytesPerToken;
    const writers = shardTmps.map((dir) => new IndexWriter(dir, c.codec, { segmentBytes: options.segmentBytes }));
    const pending = writers.map(() => ({ pids: [] as number[], tokens: 0 }));
    const flush = (s: number): void => {
      const p = pending[s]!;
      if (p.pids.length === 0) return;
      const codes = new Int32Array(p.tokens);
      const residuals = new Uint8Array(p.tokens * bpt);
      const doclens = new Int32Array(p.pids.length);
      let row = 0;
      let g = 0; // pids ascend: the segment cursor only moves forward
      p.pids.forEach((pid, i) => {
        const len = data.doclens[pid]!;
        while (pid >= data.segments[g]!.firstPid + data.segments[g]!.passages) g++;
        const seg = data.segments[g]!;
        const segRow = data.tokenStarts[pid]!;
        codes.set(seg.codes.subarray(segRow, segRow + len), row);
        residuals.set(seg.residuals.subarray(segRow * bpt, (segRow + len) * bpt), row * bpt);
        doclens[i] = len;
        row += len;
      });
      writers[s]!.appendChunk(codes, residuals, doclens);
      p.pids = [];
      p.tokens = 0;
    };
    for (let pid = 0; pid < nPassages; pid++) {
      const s = pidShard[pid]!;
      pending[s]!.pids.push(pid);
      pending[s]!.tokens += data.doclens[pid]!;
      if (pending[s]!.pids.length >= COPY_CHUNK_PASSAGES) flush(s);
    }
    const shards: IndexManifest[] = [];
    for (let s = 0; s < n; s++) {
      flush(s);
      const w = writers[s]!;
      w.finishArrays();
      docstores[s]!.setTokenDf(shardDf[s]!, w.passages);
      docstores[s]!.close();
      manifestOf(w, docsPerShard[s]!, w.passages);
    }
    const codebook = codebookChecksum(data.centroids, data.manifest.codec);
    if (wholeTarget === null) {
      rmSync(whole, { recursive: true, force: true }); // out of the build folder before it is published
      whole = null;
    }
    for (let s = 0; s < n; s++) shards.push(sealBuild(shardTmps[s]!));
    const cluster: ClusterManifest = {
      format: 'plait-cluster',
      version: 1,
      name: basename(root),
      shards: n,
      routing: ROUTING_JUMP_SHA256,
      codebook,
      model: modelIdentity(data.manifest.model),
      shardInfo: shards.map((m) => ({ commit: commitIdOf(m), documents: m.counts.documents, passages: m.counts.passages })),
      createdAt: new Date().toISOString(),
    };
    writeClusterManifest(tmpRoot, cluster); // last: a root without it is a build's leftover
    publishShardedBuild(tmpRoot, root);
    tmpRoot = null;
    if (whole !== null) publishIndex(whole, wholeTarget!);
    whole = null;
    progress('done', 1, 1);
    return { path: root, cluster, shards, requestedShards, ...(typeWarnings.length === 0 ? {} : { metadataWarnings: typeWarnings }) };
  } catch (err) {
    for (const d of [...docstores, ...(wholeStore === null ? [] : [wholeStore])]) {
      try {
        d.abort();
      } catch {
        // Closed already; the folders are removed below either way.
      }
    }
    try {
      spill?.dispose();
    } catch {
      // Already closed.
    }
    if (tmpRoot !== null) discardBuildDir(tmpRoot);
    if (whole !== null) discardBuildDir(whole);
    if (isPlaitError(err)) throw err;
    throw new PlaitError('BUILD_FAILED', { message: (err as Error).message ?? String(err) }, { cause: err });
  } finally {
    if (ownEncoder) await encoder.close();
  }
}

function grow(a: Uint16Array): Uint16Array {
  const b = new Uint16Array(a.length * 2);
  b.set(a);
  return b;
}
