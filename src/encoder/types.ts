/**
 * The encoder contract: text in, one L2-normalised vector per kept token out.
 * Model families (the bundled USE-lite model, ColBERT ONNX checkpoints) implement `ModelFamily`;
 * `createEncoder` runs their backends on worker threads and batches texts by length.
 */

import type { OptionKeys } from '../util/option-keys.js';

export type TextKind = 'query' | 'document';

/** One encoded text: `length` rows of `dim` floats, row-major, each row L2-normalised. */
export interface TokenEmbeddings {
  vectors: Float32Array;
  length: number;
  /** Vocabulary id of the token behind each row (aligned with the rows), used for IDF weights. */
  tokenIds: Int32Array;
}

/** What an index records about the model that built it; search refuses a different one. */
export interface ModelInfo {
  /** Human and machine identity, e.g. "colbert-ir/colbertv2.0" or "bundled:use-lite". */
  name: string;
  family: ModelFamilyName;
  dim: number;
  queryMaxlen: number;
  docMaxlen: number;
  /** Marker token text inserted after [CLS] (null when the model has none). */
  queryMarker: string | null;
  documentMarker: string | null;
  /** ColBERT pads queries with [MASK] and attends to them (query augmentation). */
  attendToMaskTokens: boolean;
  vocabSize: number;
  /** Model profile: whether query-token IDF weighting helps this model (on for USE-lite). */
  idfWeighting: boolean;
  /** Model profile: default search mode for an index built with this model. */
  defaultMode: 'late' | 'hybrid';
  /** Content tokens that fit one document window (docMaxlen less the special tokens). */
  documentWindow: number;
  /**
   * Content tokens a query keeps (queryMaxlen less the special tokens); longer queries are clipped
   * and their search results say `truncated`. Optional only because older manifests lack it.
   */
  queryWindow?: number;
  /**
   * SHA-256 of the model's files (model-fingerprint.ts), set by createEncoder; absent in indexes
   * built before it was recorded. Two checkpoints of one family and shape differ here.
   */
  fingerprint?: string;
  /**
   * 'int8' when the vectors come from the converter's int8 graph (--quantize int8); absent for
   * float graphs. Part of the model check, so an index never mixes int8 and float vectors.
   */
  quantization?: 'int8';
}

export type ModelFamilyName = 'use-lite' | 'colbert-onnx';

/** A text's content tokens (no special tokens) with [start, end) UTF-16 offsets into the text. */
export interface TokenizedText {
  ids: Int32Array;
  /** Pairs: offsets[2i] = start, offsets[2i+1] = end of token i. */
  offsets: Int32Array;
}

/** What an output row stands for: a content token of the text, or one the model adds around it. */
export type TokenRole = 'content' | 'cls' | 'sep' | 'marker' | 'mask';

/**
 * One output row of an encoded text, as the tokenizer lays it out without running the model: its
 * vocabulary id, its role, and for content tokens the [start, end) UTF-16 offsets into the text
 * (-1, -1 for the tokens the model adds). Row i of `rows(text, kind)` is row i of the encoder's
 * `TokenEmbeddings` for the same text and kind (explanations rely on it; tests pin it).
 */
export interface RowToken {
  id: number;
  role: TokenRole;
  start: number;
  end: number;
}

/** Runs the model; lives on a worker thread (or in-process when threads = 0). */
export interface EncoderBackend {
  readonly info: ModelInfo;
  encode(texts: string[], kind: TextKind): Promise<TokenEmbeddings[]>;
  dispose(): Promise<void>;
}

/** The model's tokenizer, cheap enough to load on the main thread (for splitting and token counts). */
export interface TextTokenizer {
  readonly info: ModelInfo;
  tokenize(text: string): TokenizedText;
  /** The rows the encoder outputs for `text` as `kind`, in order (see RowToken). */
  rows(text: string, kind: TextKind): RowToken[];
  /** The vocabulary's text for a token id (a WordPiece "##" continuation or a SentencePiece "▁" piece as stored). */
  tokenText(id: number): string;
  /** Id of the token the tokenizer emits for text its vocabulary cannot represent (undefined: none known). */
  readonly unknownTokenId?: number;
  /** Ids of the rows the model adds around a text (CLS, SEP, markers, MASK padding): not content. */
  readonly specialTokenIds?: ReadonlySet<number>;
}

/** Serializable description of a model, passed to workers. */
export type ModelSpec =
  | { family: 'use-lite'; dir?: string }
  | { family: 'colbert-onnx'; dir: string; name?: string; onnxFile?: string; overrides?: ColbertOverrides; quantize?: 'int8' };

export interface ColbertOverrides {
  queryMaxlen?: number;
  docMaxlen?: number;
  dim?: number;
}

export interface BackendOptions {
  intraOpNumThreads: number;
  /**
   * The query and document windows the calling thread resolved against the graph's position table
   * (colbert-onnx/position-window.ts: a default past it is cut), so a worker encodes with the same
   * lengths without walking the graph again; absent for a family with a fixed window.
   */
  lengths?: { queryMaxlen: number; docMaxlen: number };
}

export interface ModelFamily {
  readonly name: ModelFamilyName;
  loadTokenizer(spec: ModelSpec): Promise<TextTokenizer>;
  loadBackend(spec: ModelSpec, options: BackendOptions): Promise<EncoderBackend>;
}

/** Options of one encode call. */
export interface EncodeOptions {
  /**
   * Cancels the call: no batch starts once it is aborted, so the encoding stops within the batch
   * each worker is running (ENCODER_DEFAULTS.batchSize texts), and the call rejects — once those
   * batches have finished — with the signal's reason when it is a PlaitError, TIMEOUT for
   * AbortSignal.timeout(), else ABORTED. A signal aborted before the call rejects at once, encoding
   * nothing. (Through DynamicBatchingEncoder a cancelled call rejects at once; see there.)
   */
  signal?: AbortSignal;
}
/** EncodeOptions' keys: encodeQueries/encodeDocuments refuse any other (`{ sigal }` ran uncancellable). */
export const ENCODE_OPTION_KEYS = { signal: true } as const satisfies OptionKeys<EncodeOptions>;

/** The public encoder. */
export interface Encoder {
  readonly info: ModelInfo;
  readonly spec: ModelSpec;
  encodeQueries(texts: string[], options?: EncodeOptions): Promise<TokenEmbeddings[]>;
  encodeDocuments(texts: string[], options?: EncodeOptions): Promise<TokenEmbeddings[]>;
  /**
   * Texts the model has encoded so far, by kind, counted when their batch finishes (monitoring,
   * and the tests that check a cancelled write stopped encoding); absent on encoders that do not count.
   */
  readonly encodedTexts?: Readonly<Record<TextKind, number>>;
  /**
   * How the encoder runs a call: in batches of `batchSize` texts (in length order), up to `lanes`
   * batches at once (its worker threads; 1 in-process). DynamicBatchingEncoder sizes its chunks to
   * it; absent on encoders that do not batch that way.
   */
  readonly batchShape?: Readonly<{ batchSize: number; lanes: number }>;
  tokenize(text: string): TokenizedText;
  /** The rows `encodeQueries`/`encodeDocuments` output for `text`, with roles and offsets (see RowToken). */
  rows(text: string, kind: TextKind): RowToken[];
  tokenText(id: number): string;
  /** See TextTokenizer.unknownTokenId (unknown-tokens.ts reads it). */
  readonly unknownTokenId?: number;
  /** See TextTokenizer.specialTokenIds. */
  readonly specialTokenIds?: ReadonlySet<number>;
  close(): Promise<void>;
}

export interface EncoderOptions {
  /** Worker threads; 0 runs the backend on the calling thread (tests, tiny jobs). Default: min(cores, ENCODER_DEFAULTS.maxAutoThreads). */
  threads?: number;
  /** Texts per backend call. */
  batchSize?: number;
  /** onnxruntime intra-op threads per worker. */
  intraOpNumThreads?: number;
}

/**
 * EncoderOptions' keys: createEncoder refuses any other (`{ thread: 1 }` used to run one worker per
 * core without a word), and so does every door that passes `encoderOptions` on, before it starts work.
 */
export const ENCODER_OPTION_KEYS = { threads: true, batchSize: true, intraOpNumThreads: true } as const satisfies OptionKeys<EncoderOptions>;
