/**
 * Finds a ColBERT checkpoint's files and reads its settings. Three layouts are common:
 * colbert-ir/colbertv2.0 (`model.onnx`, `tokenizer.json`, settings in `artifact.metadata`),
 * answerdotai/answerai-colbert-small-v1 (`vespa_colbert.onnx`), and PyLate exports
 * (`config_sentence_transformers.json` with `query_prefix` / `document_prefix` and lengths).
 * Precedence, lowest first: ColBERT defaults, `config.json`, `artifact.metadata`, PyLate's config,
 * then `spec.overrides`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ENCODER_DEFAULTS } from '../../config/defaults.js';
import { PlaitError } from '../../errors/index.js';
import type { ModelSpec } from '../types.js';
import { DENSE_DIR, moduleFolders, MODULES_FILE } from '../convert/checkpoint-layout.js';
import type { LengthSource, PositionConfig } from './position-window.js';

/** Where the ONNX graph may live, in the order tried. */
export const ONNX_FILE_CANDIDATES = ['model.onnx', 'onnx/model.onnx', 'vespa_colbert.onnx'] as const;
export const TOKENIZER_FILE = 'tokenizer.json';
/** Where tokenizer.json may live: the root, or the transformer folder of an older sentence-transformers layout. */
export const TOKENIZER_FILE_CANDIDATES = [TOKENIZER_FILE, '0_Transformer/tokenizer.json'] as const;
/** Settings files read when present (none is required). */
export const CONFIG_FILES = ['config.json', 'artifact.metadata', 'config_sentence_transformers.json', '1_Dense/config.json'] as const;

/** ColBERT's markers for BERT checkpoints: [unused0] for queries, [unused1] for documents. */
const BERT_QUERY_MARKER = '[unused0]';
const BERT_DOCUMENT_MARKER = '[unused1]';

export type ColbertSpec = Extract<ModelSpec, { family: 'colbert-onnx' }>;

export interface ColbertCheckpoint {
  dir: string;
  name: string;
  onnxPath: string;
  tokenizerPath: string;
  queryMaxlen: number;
  docMaxlen: number;
  /** Which file, option or default set queryMaxlen and docMaxlen (position-window.ts names it when the graph cannot read that far). */
  queryMaxlenFrom: LengthSource;
  docMaxlenFrom: LengthSource;
  /** config.json's model_type and max_position_embeddings (the window of a graph without a position table). */
  positions: PositionConfig;
  /** Output width from the config or overrides; null when only the ONNX graph knows it. */
  dim: number | null;
  queryMarker: string | null;
  documentMarker: string | null;
  attendToMaskTokens: boolean;
  /** Pad queries with [MASK] to queryMaxlen (ColBERT's query augmentation); PyLate can turn it off. */
  queryExpansion: boolean;
  /** Tokens whose document rows are dropped: ColBERT's string.punctuation, or PyLate's skiplist_words. */
  skiplistWords: string[];
  /** The settings file that named the markers, or null when ColBERT's BERT defaults ([unused0] / [unused1]) were assumed. */
  markersFrom: string | null;
}

/** Python's string.punctuation, each character a skiplist token (ColBERT's mask_punctuation). */
export const PUNCTUATION_SKIPLIST = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];

export function checkpointFiles(dir: string, onnxFile?: string): { onnxPath: string; tokenizerPath: string } {
  if (!existsSync(dir)) {
    throw new PlaitError('MODEL_NOT_FOUND', {
      message: `no model folder at ${dir}: put the model back there, or name where it is now (as the model: its folder or org/name; an index checks that it is the same model)`,
      dir,
    });
  }
  // onnxFile may be absolute: a graph converted from the folder's weights lives in the model cache.
  const candidates = onnxFile === undefined ? ONNX_FILE_CANDIDATES : [onnxFile];
  const onnx = candidates.find((f) => existsSync(path.resolve(dir, f)));
  const tokenizer = TOKENIZER_FILE_CANDIDATES.find((f) => existsSync(path.join(dir, f)));
  const missing: string[] = [];
  if (onnx === undefined) missing.push(candidates.join(' or '));
  if (tokenizer === undefined) missing.push(TOKENIZER_FILE);
  if (onnx === undefined || tokenizer === undefined) {
    const hint = onnx === undefined && onnxFile === undefined ? ' (nor config.json with model.safetensors or pytorch_model.bin to build a graph from)' : '';
    // What to do: a checkpoint folder is a hub repository's files, all of them.
    const todo =
      onnx === undefined && onnxFile === undefined
        ? 'give the folder of a ColBERT checkpoint: its config.json and weights (plait converts them), or an exported model.onnx, with tokenizer.json'
        : 'copy tokenizer.json (the Hugging Face fast tokenizer) from the checkpoint\'s repository into the folder';
    throw new PlaitError('MODEL_FILE_MISSING', { message: `${dir} has no ${missing.join(', nor ')}${hint}: ${todo}, or pull the whole repository (plait model pull <org/name>)`, dir, missing });
  }
  return { onnxPath: path.resolve(dir, onnx), tokenizerPath: path.join(dir, tokenizer) };
}

function readJson(file: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch (cause) {
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} is not valid JSON`, file }, { cause });
  }
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

/** config.json's position settings, at the root or in a sentence-transformers `0_Transformer/` folder. */
function positionConfig(dir: string): PositionConfig {
  for (const file of ['config.json', '0_Transformer/config.json']) {
    const c = readJson(path.join(dir, file));
    if (c === null) continue;
    return { modelType: str(c['model_type']) ?? null, maxPositionEmbeddings: positiveInt(c['max_position_embeddings']) ?? null };
  }
  return { modelType: null, maxPositionEmbeddings: null };
}

/** Reads the checkpoint at spec.dir into settings (the ONNX graph itself is not opened here). */
export function readCheckpoint(spec: ColbertSpec): ColbertCheckpoint {
  const dir = path.resolve(spec.dir);
  const { onnxPath, tokenizerPath } = checkpointFiles(dir, spec.onnxFile);
  const s = {
    queryMaxlen: ENCODER_DEFAULTS.queryMaxlen as number,
    docMaxlen: ENCODER_DEFAULTS.docMaxlen as number,
    dim: null as number | null,
    queryMarker: BERT_QUERY_MARKER as string | null,
    documentMarker: BERT_DOCUMENT_MARKER as string | null,
    // ColBERTConfig's default (attend_to_mask_tokens=False) and PyLate's (attend_to_expansion_tokens=False):
    // the [MASK] rows are encoded and kept, but the other tokens do not attend to them.
    attendToMaskTokens: false,
    queryExpansion: true,
    skiplistWords: PUNCTUATION_SKIPLIST,
    markersFrom: null as string | null,
    queryMaxlenFrom: { kind: 'default' } as LengthSource,
    docMaxlenFrom: { kind: 'default' } as LengthSource,
  };
  const fromFile = (file: string, key: string, option: string): LengthSource => ({ kind: 'file', file: path.join(dir, file), key, option });
  // ColBERT's own settings, wherever an export put them (config.json first, artifact.metadata wins).
  for (const file of ['config.json', 'artifact.metadata']) {
    const raw = readJson(path.join(dir, file));
    if (raw === null) continue;
    // ColBERT reads artifact.metadata either flat or wrapped as { config: {...} } (ColBERTConfig.from_path).
    const wrapped = raw['config'];
    const c = wrapped !== null && typeof wrapped === 'object' && !Array.isArray(wrapped) ? (wrapped as Record<string, unknown>) : raw;
    if (positiveInt(c['query_maxlen']) !== undefined) {
      s.queryMaxlen = c['query_maxlen'] as number;
      s.queryMaxlenFrom = fromFile(file, 'query_maxlen', 'overrides.queryMaxlen');
    }
    if (positiveInt(c['doc_maxlen']) !== undefined) {
      s.docMaxlen = c['doc_maxlen'] as number;
      s.docMaxlenFrom = fromFile(file, 'doc_maxlen', 'overrides.docMaxlen (plait index --doc-maxlen)');
    }
    s.dim = positiveInt(c['dim']) ?? s.dim;
    s.queryMarker = str(c['query_token_id']) ?? s.queryMarker;
    s.documentMarker = str(c['doc_token_id']) ?? s.documentMarker;
    if (str(c['query_token_id']) !== undefined || str(c['doc_token_id']) !== undefined) s.markersFrom = file;
    s.attendToMaskTokens = bool(c['attend_to_mask_tokens']) ?? s.attendToMaskTokens;
    if (c['mask_punctuation'] === false) s.skiplistWords = [];
  }
  const st = readJson(path.join(dir, 'config_sentence_transformers.json'));
  if (st !== null) {
    s.queryMarker = str(st['query_prefix']) ?? s.queryMarker;
    s.documentMarker = str(st['document_prefix']) ?? s.documentMarker;
    s.markersFrom = 'config_sentence_transformers.json';
    if (positiveInt(st['query_length']) !== undefined) {
      s.queryMaxlen = st['query_length'] as number;
      s.queryMaxlenFrom = fromFile('config_sentence_transformers.json', 'query_length', 'overrides.queryMaxlen');
    }
    if (positiveInt(st['document_length']) !== undefined) {
      s.docMaxlen = st['document_length'] as number;
      s.docMaxlenFrom = fromFile('config_sentence_transformers.json', 'document_length', 'overrides.docMaxlen (plait index --doc-maxlen)');
    }
    s.attendToMaskTokens = bool(st['attend_to_expansion_tokens']) ?? s.attendToMaskTokens;
    s.queryExpansion = bool(st['do_query_expansion']) ?? s.queryExpansion;
    const skip = st['skiplist_words'];
    if (Array.isArray(skip)) s.skiplistWords = skip.filter((w): w is string => typeof w === 'string');
  }
  // The last Dense module's width (PyLate may chain several: 1_Dense, 2_Dense, …, as modules.json lists them).
  const modulesFile = path.join(dir, MODULES_FILE);
  const denseFolders = moduleFolders(existsSync(modulesFile) ? readFileSync(modulesFile, 'utf8') : null, modulesFile)?.dense ?? [DENSE_DIR];
  const dense = denseFolders.length === 0 ? null : readJson(path.join(dir, denseFolders[denseFolders.length - 1]!, 'config.json'));
  if (dense !== null && s.dim === null) s.dim = positiveInt(dense['out_features']) ?? null;
  const o = spec.overrides ?? {};
  for (const [key, value] of Object.entries(o)) {
    if (value !== undefined && positiveInt(value) === undefined) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a positive integer for overrides.${key} but received ${String(value)}`, name: key });
    }
  }
  // Room for [CLS], the marker, [SEP] and at least one token.
  const queryMaxlen = o.queryMaxlen ?? s.queryMaxlen;
  const docMaxlen = o.docMaxlen ?? s.docMaxlen;
  if (queryMaxlen < 4 || docMaxlen < 4) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `queryMaxlen and docMaxlen must be at least 4 (got ${queryMaxlen}, ${docMaxlen})` });
  }
  return {
    dir,
    name: spec.name ?? path.basename(dir),
    onnxPath,
    tokenizerPath,
    queryMaxlen,
    docMaxlen,
    queryMaxlenFrom: o.queryMaxlen === undefined ? s.queryMaxlenFrom : { kind: 'option', name: 'queryMaxlen' },
    docMaxlenFrom: o.docMaxlen === undefined ? s.docMaxlenFrom : { kind: 'option', name: 'docMaxlen' },
    positions: positionConfig(dir),
    dim: o.dim ?? s.dim,
    queryMarker: s.queryMarker,
    documentMarker: s.documentMarker,
    attendToMaskTokens: s.attendToMaskTokens,
    queryExpansion: s.queryExpansion,
    skiplistWords: s.skiplistWords,
    markersFrom: s.markersFrom,
  };
}
