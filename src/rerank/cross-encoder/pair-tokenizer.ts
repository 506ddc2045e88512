/**
 * Query–document pairs as the model was trained on them: the tokenizer's own post-processor lays
 * out the pair (BERT `[CLS] q [SEP] d [SEP]` with token types 0/1, XLM-R `<s> q </s></s> d </s>`),
 * and truncation takes tokens from the document only (the `tokenizers` binding's OnlySecond
 * strategy), so the query and every separator survive. A query longer than maxQueryFraction of
 * the pair is cut first (at a token boundary), since otherwise the document would get no room.
 */
import { readFileSync } from 'node:fs';
import type { Tokenizer } from 'tokenizers';
import { hfTokenizers } from '../../encoder/native-runtimes.js';
import { CROSS_ENCODER_DEFAULTS } from '../../config/defaults.js';
import { PlaitError } from '../../errors/index.js';
import { codePointsToUtf16 } from '../../encoder/colbert-onnx/tokenizer-bridge.js';
import { checkTokenizerFitsGraph } from '../../encoder/colbert-onnx/graph-vocabulary.js';

/** One pair's model inputs (no padding). */
export interface PairEncoding {
  ids: Int32Array;
  typeIds: Int32Array;
  length: number;
}

/** A padded batch, row-major [batchSize, seqLen]. */
export interface PairBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
}

export class PairTokenizer {
  /** The tokenizer without truncation, loaded at the first query longer than maxLength (see fitQuery). */
  private untruncated: Tokenizer | null = null;

  private constructor(
    private readonly hf: Tokenizer,
    readonly maxLength: number,
    readonly padId: number,
    private readonly file: string,
  ) {}

  /**
   * The tokenizer.json `file`, cutting pairs at `maxLength` tokens; `onnxPath`, the graph it feeds,
   * whose embedding table must hold every id it gives (encoder/colbert-onnx/graph-vocabulary.ts);
   * `embeddingRows`, that table's rows when the caller has read them (crossEncoderFiles), else the graph is walked.
   * @throws PlaitError MODEL_LOAD_FAILED (unreadable), MODEL_UNSUPPORTED (ids past the graph's table, both sizes named)
   */
  static load(file: string, maxLength: number, onnxPath?: string, embeddingRows?: number | null): PairTokenizer {
    let hf: Tokenizer;
    let json: { padding?: { pad_id?: number } | null };
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
      hf = hfTokenizers().Tokenizer.fromFile(file);
    } catch (cause) {
      throw new PlaitError('MODEL_LOAD_FAILED', { message: `cannot load ${file}: ${(cause as Error).message}`, file }, { cause });
    }
    if (onnxPath !== undefined) checkTokenizerFitsGraph(onnxPath, file, json, embeddingRows);
    hf.disablePadding();
    hf.setTruncation(maxLength, { strategy: 'OnlySecond' as never });
    const pad = ['[PAD]', '<pad>'].map((t) => hf.tokenToId(t)).find((id) => id !== null && id !== undefined);
    return new PairTokenizer(hf, maxLength, json.padding?.pad_id ?? pad ?? 0, file);
  }

  /** Pairs of one query with many documents, in input order. */
  async encodePairs(query: string, documents: readonly string[]): Promise<PairEncoding[]> {
    const q = await this.fitQuery(query);
    try {
      const encodings = await Promise.all(documents.map((d) => this.hf.encode(q, d, { addSpecialTokens: true })));
      return encodings.map((e) => {
        const ids = Int32Array.from(e.getIds());
        return { ids, typeIds: Int32Array.from(e.getTypeIds()), length: ids.length };
      });
    } catch (cause) {
      throw new PlaitError('TOKENIZER_FAILED', { message: `${this.file}: ${(cause as Error).message}`, file: this.file }, { cause });
    }
  }

  /**
   * The query, cut at a token boundary when it would take more than maxQueryFraction of the pair.
   * `hf` truncates OnlySecond, which cannot shorten a lone sequence: a query of more than maxLength
   * tokens failed every pair with the binding's "Truncation error: Second sequence not provided"
   * (a plain Error, not even a PlaitError); such a query is measured with a tokenizer that does not truncate.
   */
  private async fitQuery(query: string): Promise<string> {
    const room = Math.floor(this.maxLength * CROSS_ENCODER_DEFAULTS.maxQueryFraction);
    let enc: Awaited<ReturnType<Tokenizer['encode']>>;
    try {
      enc = await this.hf.encode(query, null, { addSpecialTokens: false });
    } catch {
      if (this.untruncated === null) {
        this.untruncated = hfTokenizers().Tokenizer.fromFile(this.file);
        this.untruncated.disablePadding();
        this.untruncated.disableTruncation();
      }
      try {
        enc = await this.untruncated.encode(query, null, { addSpecialTokens: false });
      } catch (cause) {
        throw new PlaitError('TOKENIZER_FAILED', { message: `${this.file}: ${(cause as Error).message}`, file: this.file }, { cause });
      }
    }
    const n = enc.getIds().length;
    if (n <= room) return query;
    const offsets = enc.getOffsets();
    const flat = Int32Array.from(offsets.flat());
    const utf16 = codePointsToUtf16(query, flat);
    return query.slice(0, utf16[2 * (room - 1) + 1]);
  }

  /** Pads encodings (already ordered by the caller) into one batch. */
  batch(encodings: readonly PairEncoding[]): PairBatch {
    const batchSize = encodings.length;
    let seqLen = 1;
    for (const e of encodings) seqLen = Math.max(seqLen, e.length);
    const inputIds = new Int32Array(batchSize * seqLen).fill(this.padId);
    const attentionMask = new Int32Array(batchSize * seqLen);
    const tokenTypeIds = new Int32Array(batchSize * seqLen);
    encodings.forEach((e, b) => {
      inputIds.set(e.ids, b * seqLen);
      tokenTypeIds.set(e.typeIds, b * seqLen);
      attentionMask.fill(1, b * seqLen, b * seqLen + e.length);
    });
    return { batchSize, seqLen, inputIds, attentionMask, tokenTypeIds };
  }
}
