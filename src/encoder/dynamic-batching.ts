/**
 * Token-budgeted dynamic batching of concurrent encode calls, as text-embeddings-inference (TEI)
 * does for its requests: while one call of a kind (queries, documents) runs, the calls that arrive
 * wait and then go together as one call of up to `maxBatchTokens` estimated token rows, in arrival
 * order. A call that finds nothing running goes at once, so a lone query pays no wait; under load,
 * concurrent queries share onnxruntime runs instead of queueing one by one behind each other.
 * Estimated rows: queryMaxlen per query (ColBERT pads queries to it); for a document, its UTF-16
 * length / 4 plus 2, at most the model's document window + 2 (no tokenizing on the hot path).
 * Each request's texts are validated when it arrives, so a bad text fails its own request only; a
 * failure of the merged call (the backend) fails every request in it.
 * A call's `signal` (EncodeOptions) takes it out of the queue when it aborts there, and makes it
 * reject at once when its merged call is running; the merged call itself is cancelled (the inner
 * encoder stops within a batch) only once every call in it was cancelled, so a cancelled write never
 * fails a query it shares a run with.
 * Measured in bench/dynamic-batching.ts (bench/RESULTS.md, "Dynamic batching").
 */
import { DYNAMIC_BATCHING_DEFAULTS } from '../config/defaults.js';
import { abortedBy, invalidArgument } from '../errors/index.js';
import { ENCODE_OPTION_KEYS, type EncodeOptions, type Encoder, type ModelInfo, type ModelSpec, type RowToken, type TextKind, type TokenEmbeddings, type TokenizedText } from './types.js';
import { validateText } from './validate-text.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

export interface DynamicBatchingOptions {
  /** Most estimated token rows per merged call, >= 1 (default DYNAMIC_BATCHING_DEFAULTS.maxBatchTokens). */
  maxBatchTokens?: number;
}
const DYNAMIC_BATCHING_OPTION_KEYS = { maxBatchTokens: true } as const satisfies OptionKeys<DynamicBatchingOptions>;

interface Pending {
  texts: string[];
  rows: number;
  signal: AbortSignal | undefined;
  /** Settled already (cancelled while queued or running): later results are dropped. */
  settled: boolean;
  resolve: (out: TokenEmbeddings[]) => void;
  reject: (err: unknown) => void;
}

interface Lane {
  queue: Pending[];
  running: boolean;
}

export class DynamicBatchingEncoder implements Encoder {
  readonly info: ModelInfo;
  readonly spec: ModelSpec;
  /** The inner encoder's, so unknown-token warnings (unknown-tokens.ts) see through the wrapper. */
  readonly unknownTokenId: number | undefined;
  readonly specialTokenIds: ReadonlySet<number> | undefined;
  private readonly maxBatchTokens: number;
  private readonly lanes: Record<TextKind, Lane> = { query: { queue: [], running: false }, document: { queue: [], running: false } };
  /** Merged calls made so far, by kind (what the batching saved is visible to tests and benchmarks). */
  readonly calls: Record<TextKind, number> = { query: 0, document: 0 };

  constructor(
    private readonly inner: Encoder,
    options: DynamicBatchingOptions = {},
  ) {
    checkOptionKeys(options, DYNAMIC_BATCHING_OPTION_KEYS, 'DynamicBatchingEncoder option');
    this.info = inner.info;
    this.spec = inner.spec;
    this.unknownTokenId = inner.unknownTokenId;
    this.specialTokenIds = inner.specialTokenIds;
    const max = options.maxBatchTokens ?? DYNAMIC_BATCHING_DEFAULTS.maxBatchTokens;
    if (!Number.isInteger(max) || max < 1) throw invalidArgument('maxBatchTokens', 'a positive integer', max);
    this.maxBatchTokens = max;
  }

  encodeQueries(texts: string[], options: EncodeOptions = {}): Promise<TokenEmbeddings[]> {
    return this.enqueue(texts, 'query', options);
  }

  encodeDocuments(texts: string[], options: EncodeOptions = {}): Promise<TokenEmbeddings[]> {
    return this.enqueue(texts, 'document', options);
  }

  /** The inner encoder's count (see Encoder.encodedTexts). */
  get encodedTexts(): Readonly<Record<TextKind, number>> | undefined {
    return this.inner.encodedTexts;
  }

  tokenize(text: string): TokenizedText {
    return this.inner.tokenize(text);
  }

  rows(text: string, kind: TextKind): RowToken[] {
    return this.inner.rows(text, kind);
  }

  tokenText(id: number): string {
    return this.inner.tokenText(id);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private estimateRows(text: string, kind: TextKind): number {
    if (kind === 'query') return this.info.queryMaxlen;
    return Math.min(this.info.documentWindow, Math.ceil(text.length / 4)) + 2;
  }

  private enqueue(texts: string[], kind: TextKind, options: EncodeOptions): Promise<TokenEmbeddings[]> {
    if (!Array.isArray(texts)) return Promise.reject(invalidArgument('texts', 'an array of strings', texts));
    const signal = options?.signal;
    try {
      checkOptionKeys(options, ENCODE_OPTION_KEYS, 'encode option');
      texts.forEach((t, i) => validateText(t, i));
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted === true) return Promise.reject(cancelled(signal, texts.length));
    if (texts.length === 0) return Promise.resolve([]);
    const rows = texts.reduce((s, t) => s + this.estimateRows(t, kind), 0);
    return new Promise<TokenEmbeddings[]>((resolve, reject) => {
      const lane = this.lanes[kind];
      let onAbort: (() => void) | undefined;
      const finish = (f: () => void): void => {
        if (p.settled) return;
        p.settled = true;
        if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
        f();
      };
      const p: Pending = { texts, rows, signal, settled: false, resolve: (out) => finish(() => resolve(out)), reject: (err) => finish(() => reject(err)) };
      if (signal !== undefined) {
        onAbort = () => {
          const queued = lane.queue.indexOf(p);
          if (queued >= 0) lane.queue.splice(queued, 1);
          p.reject(cancelled(signal, texts.length));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      lane.queue.push(p);
      this.drain(kind);
    });
  }

  /** Starts the next merged call of `kind` unless one is running. */
  private drain(kind: TextKind): void {
    const lane = this.lanes[kind];
    if (lane.running || lane.queue.length === 0) return;
    const batch: Pending[] = [lane.queue.shift()!];
    let rows = batch[0]!.rows;
    while (lane.queue.length > 0 && rows + lane.queue[0]!.rows <= this.maxBatchTokens) {
      const next = lane.queue.shift()!;
      rows += next.rows;
      batch.push(next);
    }
    lane.running = true;
    this.calls[kind]++;
    const texts = batch.flatMap((p) => p.texts);
    const merged = mergedSignal(batch);
    const options: EncodeOptions = merged === null ? {} : { signal: merged.signal };
    const run = kind === 'query' ? this.inner.encodeQueries(texts, options) : this.inner.encodeDocuments(texts, options);
    run
      .then((out) => {
        let at = 0;
        for (const p of batch) {
          p.resolve(out.slice(at, at + p.texts.length));
          at += p.texts.length;
        }
      })
      .catch((err: unknown) => {
        for (const p of batch) p.reject(err);
      })
      .finally(() => {
        merged?.dispose();
        lane.running = false;
        this.drain(kind);
      });
  }
}

/** What a cancelled call rejects with. */
function cancelled(signal: AbortSignal, texts: number): Error {
  return abortedBy(signal, `the encoding of ${texts} texts was cancelled`);
}

/**
 * A signal for a merged call that aborts once every call in it has aborted (null when a call has
 * no signal: it can never be cancelled, so neither can the run it shares); `dispose` removes the listeners.
 */
function mergedSignal(batch: readonly Pending[]): { signal: AbortSignal; dispose: () => void } | null {
  if (batch.some((p) => p.signal === undefined)) return null;
  const controller = new AbortController();
  const signals = batch.map((p) => p.signal!);
  const check = (): void => {
    if (signals.every((s) => s.aborted)) controller.abort(signals[0]!.reason);
  };
  for (const s of signals) s.addEventListener('abort', check, { once: true });
  check();
  return { signal: controller.signal, dispose: () => signals.forEach((s) => s.removeEventListener('abort', check)) };
}
