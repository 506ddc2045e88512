/**
 * The colbert-onnx tokenizer side: reads the checkpoint settings, loads `tokenizer.json` with the
 * `tokenizers` binding, resolves the special and marker token ids and the skiplist, and builds the
 * ModelInfo. Cheap enough for the main thread; the backend reuses it on its worker.
 */
import { readFileSync } from 'node:fs';
import type { Tokenizer } from 'tokenizers';
import { hfTokenizers } from '../native-runtimes.js';
import { PlaitError } from '../../errors/index.js';
import type { ModelInfo, RowToken, TextKind, TextTokenizer, TokenizedText } from '../types.js';
import { readCheckpoint, type ColbertCheckpoint, type ColbertSpec } from './checkpoint-config.js';
import { contentRoom, rowLayout, type InputSettings, type SpecialIds } from './colbert-inputs.js';
import { syncTokenizerFor } from './bert-tokenizer.js';
import { readOutputShape } from './onnx-output-shape.js';
import { checkTokenizerFitsGraph } from './graph-vocabulary.js';
import { readGraphTables } from './graph-tables.js';
import { fitLength, positionWindow } from './position-window.js';

export interface LoadedColbertTokenizer extends TextTokenizer {
  readonly checkpoint: ColbertCheckpoint;
  readonly hf: Tokenizer;
  readonly special: SpecialIds;
  readonly settings: InputSettings;
  /** Content token ids of many texts (no special tokens), via the `tokenizers` binding. */
  contentIds(texts: string[]): Promise<Int32Array[]>;
}

function firstId(tok: Tokenizer, candidates: readonly string[], what: string, file: string): number {
  for (const c of candidates) {
    const id = tok.tokenToId(c);
    if (id !== null && id !== undefined) return id;
  }
  throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} has no ${what} token (tried ${candidates.join(', ')})`, file });
}

async function encodeIds(tok: Tokenizer, text: string): Promise<number[]> {
  const enc = await tok.encode(text, null, { addSpecialTokens: false });
  return enc.getIds();
}

/** A marker's ids: the single token when the vocabulary has it (ColBERT, PyLate), else the text's tokens. */
async function markerIds(tok: Tokenizer, marker: string | null): Promise<Int32Array> {
  if (marker === null) return new Int32Array(0);
  for (const m of [marker, marker.trim()]) {
    const id = tok.tokenToId(m);
    if (id !== null && id !== undefined) return Int32Array.of(id);
  }
  return Int32Array.from(await encodeIds(tok, marker));
}

/**
 * Refuses ColBERT's BERT markers assumed by default when the vocabulary has neither: the folder
 * then lacks the settings file that names its markers (a PyLate checkpoint copied without
 * config_sentence_transformers.json), and encoding "[unused0]" as text would give other vectors
 * than the model's, silently.
 * @throws PlaitError MODEL_FILE_MISSING
 */
function checkDefaultMarkers(tok: Tokenizer, checkpoint: ColbertCheckpoint, file: string): void {
  if (checkpoint.markersFrom !== null) return;
  const absent = [checkpoint.queryMarker, checkpoint.documentMarker].filter((m): m is string => m !== null && (tok.tokenToId(m) ?? null) === null);
  if (absent.length === 0) return;
  throw new PlaitError('MODEL_FILE_MISSING', {
    message:
      `${checkpoint.dir} says nothing of its query and document markers (no config_sentence_transformers.json, no query_token_id / doc_token_id in config.json or artifact.metadata), ` +
      `so ColBERT's BERT markers ${absent.join(' and ')} were assumed, but ${file} has no such token: ` +
      `copy config_sentence_transformers.json (PyLate's prefixes, lengths and skiplist) from the checkpoint's repository into the folder, or pull the whole repository (plait model pull <org/name>)`,
    dir: checkpoint.dir,
    missing: ['config_sentence_transformers.json'],
  });
}

/** The width of the model's output rows: config or overrides first, else the ONNX graph's declared shape. */
export async function modelDim(checkpoint: ColbertCheckpoint): Promise<number> {
  if (checkpoint.dim !== null) return checkpoint.dim;
  const shape = readOutputShape(checkpoint.onnxPath);
  const last = shape === null ? null : shape[shape.length - 1];
  if (typeof last === 'number' && last > 0) return last;
  // Last resort: open the graph and ask onnxruntime (loaded lazily: the main thread rarely needs it).
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(checkpoint.onnxPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const meta = session.outputMetadata[0];
    const dims = meta !== undefined && meta.isTensor ? meta.shape : [];
    const d = dims[dims.length - 1];
    if (typeof d === 'number' && d > 0) return d;
  } finally {
    await session.release();
  }
  throw new PlaitError('MODEL_LOAD_FAILED', {
    message: `cannot tell the embedding width of ${checkpoint.onnxPath}; pass overrides.dim`,
    file: checkpoint.onnxPath,
  });
}

/** The tokenizer's unknown token (tokenizer.json's `model.unk_token`, else [UNK] / <unk>), when the vocabulary has one. */
function unknownId(hf: Tokenizer, json: unknown): { unknownTokenId?: number } {
  const declared = (json as { model?: { unk_token?: unknown } } | null)?.model?.unk_token;
  for (const name of [typeof declared === 'string' ? declared : undefined, '[UNK]', '<unk>']) {
    if (name === undefined) continue;
    const id = hf.tokenToId(name);
    if (id !== null && id !== undefined) return { unknownTokenId: id };
  }
  return {};
}

/** The query and document windows a model reads, in tokens (specials included). */
export interface ColbertLengths {
  queryMaxlen: number;
  docMaxlen: number;
}

/**
 * @param options.checkGraph whether to hold the tokenizer's ids to the graph's embedding table
 *   (graph-vocabulary.ts) and the configured lengths to its position table (position-window.ts:
 *   refused past it, or a default cut to it); default true. The backend passes false with the
 *   `lengths` so resolved: createEncoder has loaded the tokenizer on the calling thread first, and a
 *   walk of the graph's headers in every encoder worker (26–54 ms on a 438 MB graph) would repeat it.
 * @throws PlaitError MODEL_UNSUPPORTED (ids past the token table; a model file's length past the
 *   position table), INVALID_ARGUMENT (overrides.queryMaxlen / docMaxlen past it), MODEL_LOAD_FAILED
 */
export async function loadColbertTokenizer(spec: ColbertSpec, options: { checkGraph?: boolean; lengths?: ColbertLengths } = {}): Promise<LoadedColbertTokenizer> {
  const read = readCheckpoint(spec);
  const file = read.tokenizerPath;
  let hf: Tokenizer;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
    hf = hfTokenizers().Tokenizer.fromFile(file);
  } catch (cause) {
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `cannot load ${file}: ${(cause as Error).message}`, file }, { cause });
  }
  // The checkpoint's tokenizer.json may carry truncation/padding of its own; we do both ourselves.
  hf.disableTruncation();
  hf.disablePadding();
  // Ids past the graph's embedding table, and lengths past its position table, failed only at the
  // first (long) encode: one walk of the graph's headers reads both tables (graph-tables.ts).
  let lengths: ColbertLengths = options.lengths ?? { queryMaxlen: read.queryMaxlen, docMaxlen: read.docMaxlen };
  if (options.checkGraph !== false) {
    const tables = readGraphTables(read.onnxPath);
    checkTokenizerFitsGraph(read.onnxPath, file, json, tables.embeddingRows);
    const window = positionWindow(tables, read.positions, read.onnxPath);
    lengths = { queryMaxlen: fitLength(read.queryMaxlen, read.queryMaxlenFrom, window), docMaxlen: fitLength(read.docMaxlen, read.docMaxlenFrom, window) };
  }
  const checkpoint: ColbertCheckpoint = { ...read, ...lengths };
  checkDefaultMarkers(hf, checkpoint, file);
  const sync = syncTokenizerFor(json, file);
  const skiplist = new Set<number>();
  for (const word of checkpoint.skiplistWords) {
    const id = hf.tokenToId(word);
    if (id !== null && id !== undefined) skiplist.add(id);
    else {
      const ids = await encodeIds(hf, word);
      if (ids.length > 0) skiplist.add(ids[0]!);
    }
  }
  const special: SpecialIds = {
    cls: firstId(hf, ['[CLS]', '<s>', '<cls>'], 'class', file),
    sep: firstId(hf, ['[SEP]', '</s>', '<sep>'], 'separator', file),
    pad: firstId(hf, ['[PAD]', '<pad>'], 'padding', file),
    mask: firstId(hf, ['[MASK]', '<mask>'], 'mask', file),
    queryMarker: await markerIds(hf, checkpoint.queryMarker),
    documentMarker: await markerIds(hf, checkpoint.documentMarker),
    skiplist,
  };
  const settings: InputSettings = {
    queryMaxlen: checkpoint.queryMaxlen,
    docMaxlen: checkpoint.docMaxlen,
    attendToMaskTokens: checkpoint.attendToMaskTokens,
    queryExpansion: checkpoint.queryExpansion,
  };
  const info: ModelInfo = {
    name: checkpoint.name,
    family: 'colbert-onnx',
    dim: await modelDim(checkpoint),
    queryMaxlen: checkpoint.queryMaxlen,
    docMaxlen: checkpoint.docMaxlen,
    queryMarker: checkpoint.queryMarker,
    documentMarker: checkpoint.documentMarker,
    attendToMaskTokens: checkpoint.attendToMaskTokens,
    vocabSize: hf.getVocabSize(true),
    idfWeighting: false,
    defaultMode: 'late',
    documentWindow: contentRoom(checkpoint.docMaxlen, special.documentMarker.length),
    queryWindow: contentRoom(checkpoint.queryMaxlen, special.queryMarker.length),
    ...(spec.quantize === 'int8' ? { quantization: 'int8' as const } : {}),
  };
  return {
    info,
    checkpoint,
    hf,
    special,
    settings,
    tokenize: (text: string): TokenizedText => sync.tokenize(text),
    rows: (text: string, kind: TextKind): RowToken[] => rowLayout(sync.tokenize(text), kind, special, settings),
    tokenText: (id: number): string => hf.idToToken(id) ?? '',
    ...unknownId(hf, json),
    specialTokenIds: new Set([special.cls, special.sep, special.pad, special.mask, ...special.queryMarker, ...special.documentMarker]),
    contentIds: async (texts: string[]): Promise<Int32Array[]> => {
      try {
        const encodings = await hf.encodeBatch(texts, { addSpecialTokens: false });
        return encodings.map((e) => Int32Array.from(e.getIds()));
      } catch (cause) {
        throw new PlaitError('TOKENIZER_FAILED', { message: (cause as Error).message }, { cause });
      }
    },
  };
}
