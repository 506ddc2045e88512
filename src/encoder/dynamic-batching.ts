/**
 * Token-budgeted dynamic batching of concurrent encode calls, as text-embeddings-inference (TEI)
 * does for its requests, served in chunks so that a small call never waits out a large one.
 *
 * Each kind (queries, documents) has a lane that runs up to `lanes` chunks at once (the inner
 * encoder's Encoder.batchShape: one per worker thread; 1 when it does not say) and queues the calls
 * that arrive meanwhile. A chunk is one inner call of at most `maxBatchTokens` estimated token rows
 * and at most the inner encoder's `batchSize` texts, so the inner encoder runs it as one batch on one
 * worker. A chunk is led by one call's next texts, taken in length order as the inner encoder batches
 * them (so a lone call's chunks are exactly the batches it got unchunked): the call with the fewest
 * texts left, or, after a chunk led by another, the oldest call. Calls not started yet whose texts
 * all fit join it (so concurrent queries still share one run). A call is answered when its last
 * chunk returns. So a small call that arrives while a large one is being encoded waits for about
 * one chunk (a worker's batch), not for the whole large call; the oldest call leads at least every
 * second chunk, so a stream of small calls cannot starve a large one; and a call that finds a lane
 * free goes at once, so a lone query pays no wait.
 * Why: with one merged call at a time, a 50-document rerank was one call of ~6,350 rows, and a
 * 5-document rerank admitted beside it waited for all of it and then went merged with the next
 * large one (bench/RESULTS.md, "Small reranks beside large ones" and "Chunked document lane").
 * Estimated rows: queryMaxlen per query (ColBERT pads queries to it); for a document, its UTF-16
 * length / 4 plus 2, at most the model's document window + 2 (no tokenizing on the hot path).
 * Each request's texts are validated when it arrives, so a bad text fails its own request only; a
 * failure of a chunk (the backend) fails every request with texts in it, and their other chunks
 * are not run.
 * A call's `signal` (EncodeOptions) takes it (all its chunks not yet run) out of the queue when it
 * aborts, and makes it reject at once; a running chunk is cancelled (the inner encoder stops within a
 * batch) only once every call in it was cancelled, so a cancelled write never fails a query it
 * shares a run with.
 * Measured in bench/dynamic-batching.ts (bench/RESULTS.md, "Dynamic batching", "Chunked document lane").
 */
import { plural } from '../util/plural.js';
import { DYNAMIC_BATCHING_DEFAULTS } from '../config/defaults.js';
import { abortedBy, invalidArgument, checkObject } from '../errors/index.js';
import { ENCODE_OPTION_KEYS, type EncodeOptions, type Encoder, type ModelInfo, type ModelSpec, type RowToken, type TextKind, type TokenEmbeddings, type TokenizedText } from './types.js';
import { validateText } from './validate-text.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

export interface DynamicBatchingOptions {
  /** Most estimated token rows per chunk (one inner call), >= 1 (default DYNAMIC_BATCHING_DEFAULTS.maxBatchTokens). */
  maxBatchTokens?: number;
}
const DYNAMIC_BATCHING_OPTION_KEYS = { maxBatchTokens: true } as const satisfies OptionKeys<DynamicBatchingOptions>;

interface Pending {
  texts: string[];
  /** Estimated token rows of each text. */
  rows: number[];
  /** Text indices in length order: the order the inner encoder batches in. */
  order: number[];
  /** Entries of `order` handed to the inner encoder so far. */
  next: number;
  /** Estimated rows of the texts not handed over yet. */
  rowsLeft: number;
  /** Texts whose embeddings came back. */
  done: number;
  out: TokenEmbeddings[];
  signal: AbortSignal | undefined;
  /** Settled already (cancelled, or failed by a chunk): later results are dropped. */
  settled: boolean;
  resolve: (out: TokenEmbeddings[]) => void;
  reject: (err: unknown) => void;
}

/** Entries [from, to) of a call's `order`, run in one chunk. */
interface Piece {
  call: Pending;
  from: number;
  to: number;
}

interface Lane {
  /** Calls with texts not handed over yet, in arrival order. */
  queue: Pending[];
  /** Chunks running. */
  running: number;
  /** The last chunk was led by a call other than the oldest (the next is led by the oldest). */
  passedOldest: boolean;
}

export class DynamicBatchingEncoder implements Encoder {
  readonly info: ModelInfo;
  readonly spec: ModelSpec;
  /** The inner encoder's, so unknown-token warnings (unknown-tokens.ts) see through the wrapper. */
  readonly unknownTokenId: number | undefined;
  readonly specialTokenIds: ReadonlySet<number> | undefined;
  /** The inner encoder's (chunks are sized to its batches; a wrapper of this wrapper sees the same). */
  readonly batchShape: Readonly<{ batchSize: number; lanes: number }> | undefined;
  private readonly maxBatchTokens: number;
  /** Texts per chunk: the inner encoder's batch size (unbounded when it does not say). */
  private readonly maxTexts: number;
  /** Chunks running at once per kind: the inner encoder's lanes (1 when it does not say). */
  private readonly maxRunning: number;
  private readonly lanes: Record<TextKind, Lane> = { query: newLane(), document: newLane() };
  /** Inner calls (chunks) made so far, by kind (what the batching saved is visible to tests and benchmarks). */
  readonly calls: Record<TextKind, number> = { query: 0, document: 0 };

  constructor(
    private readonly inner: Encoder,
    options: DynamicBatchingOptions = {},
  ) {
    checkOptionKeys(options, DYNAMIC_BATCHING_OPTION_KEYS, 'DynamicBatchingEncoder option');
    checkObject('inner', inner, 'an Encoder');
    this.info = inner.info;
    this.spec = inner.spec;
    this.unknownTokenId = inner.unknownTokenId;
    this.specialTokenIds = inner.specialTokenIds;
    this.batchShape = inner.batchShape;
    this.maxTexts = inner.batchShape?.batchSize ?? Number.POSITIVE_INFINITY;
    this.maxRunning = Math.max(1, inner.batchShape?.lanes ?? 1);
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
    const rows = texts.map((t) => this.estimateRows(t, kind));
    // Length order, ties in input order: the inner encoder's batching order (create-encoder.ts).
    const order = texts.map((_, i) => i).sort((x, y) => texts[x]!.length - texts[y]!.length || x - y);
    return new Promise<TokenEmbeddings[]>((resolve, reject) => {
      const lane = this.lanes[kind];
      let onAbort: (() => void) | undefined;
      const finish = (f: () => void): void => {
        if (p.settled) return;
        p.settled = true;
        if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
        unqueue(lane, p);
        f();
      };
      const p: Pending = {
        texts,
        rows,
        order,
        next: 0,
        rowsLeft: rows.reduce((s, r) => s + r, 0),
        done: 0,
        out: new Array<TokenEmbeddings>(texts.length),
        signal,
        settled: false,
        resolve: (out) => finish(() => resolve(out)),
        reject: (err) => finish(() => reject(err)),
      };
      if (signal !== undefined) {
        onAbort = () => p.reject(cancelled(signal, texts.length));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      lane.queue.push(p);
      this.drain(kind);
    });
  }

  /** Starts chunks of `kind` while a lane is free and calls wait. */
  private drain(kind: TextKind): void {
    const lane = this.lanes[kind];
    while (lane.running < this.maxRunning && lane.queue.length > 0) this.runChunk(kind, lane, this.nextChunk(lane));
  }

  /**
   * The next chunk. Its lead is the call with the fewest texts left (the oldest of those), except
   * after a chunk so led that was not the oldest call's: then the oldest call, so that every call
   * leads at least every second chunk once it is the oldest (a stream of small calls cannot starve a
   * large one). The lead gives its next texts while they fit (at least one, so a text larger than the
   * budget still goes, alone); then every call not started yet whose texts fit whole joins (queries
   * made together share a run), but never the rest of a started call, which would make a small
   * lead wait for a large call's texts.
   */
  private nextChunk(lane: Lane): Piece[] {
    const oldest = lane.queue[0]!;
    let lead = oldest;
    if (!lane.passedOldest) {
      for (const p of lane.queue) if (p.order.length - p.next < lead.order.length - lead.next) lead = p;
    }
    lane.passedOldest = lead !== oldest;
    let texts = 0;
    let rows = 0;
    const from = lead.next;
    while (lead.next < lead.order.length) {
      const r = lead.rows[lead.order[lead.next]!]!;
      if (texts > 0 && (texts + 1 > this.maxTexts || rows + r > this.maxBatchTokens)) break;
      texts++;
      rows += r;
      lead.next++;
      lead.rowsLeft -= r;
    }
    // Pieces in arrival order, as the calls came.
    const chunk: Piece[] = [];
    for (const p of lane.queue) {
      if (p === lead) chunk.push({ call: p, from, to: p.next });
      else if (p.next === 0 && texts + p.order.length <= this.maxTexts && rows + p.rowsLeft <= this.maxBatchTokens) {
        chunk.push({ call: p, from: 0, to: p.order.length });
        texts += p.order.length;
        rows += p.rowsLeft;
        p.next = p.order.length;
        p.rowsLeft = 0;
      }
    }
    lane.queue = lane.queue.filter((p) => p.next < p.order.length);
    return chunk;
  }

  private runChunk(kind: TextKind, lane: Lane, chunk: Piece[]): void {
    lane.running++;
    this.calls[kind]++;
    const texts = chunk.flatMap(({ call, from, to }) => call.order.slice(from, to).map((i) => call.texts[i]!));
    const merged = mergedSignal(chunk.map((c) => c.call));
    const options: EncodeOptions = merged === null ? {} : { signal: merged.signal };
    let run: Promise<TokenEmbeddings[]>;
    try {
      run = kind === 'query' ? this.inner.encodeQueries(texts, options) : this.inner.encodeDocuments(texts, options);
    } catch (err) {
      run = Promise.reject(err);
    }
    run
      .then((out) => {
        let at = 0;
        for (const { call, from, to } of chunk) {
          for (let k = from; k < to; k++) call.out[call.order[k]!] = out[at++]!;
          call.done += to - from;
          if (call.done === call.texts.length) call.resolve(call.out);
        }
      })
      .catch((err: unknown) => {
        for (const { call } of chunk) call.reject(err);
      })
      .finally(() => {
        merged?.dispose();
        lane.running--;
        this.drain(kind);
      });
  }
}

function newLane(): Lane {
  return { queue: [], running: 0, passedOldest: false };
}

/** Takes a settled call's texts not handed over yet out of its lane. */
function unqueue(lane: Lane, p: Pending): void {
  const at = lane.queue.indexOf(p);
  if (at >= 0) lane.queue.splice(at, 1);
}

/** What a cancelled call rejects with. */
function cancelled(signal: AbortSignal, texts: number): Error {
  return abortedBy(signal, `the encoding of ${plural(texts, 'text')} was cancelled`);
}

/**
 * A signal for a chunk that aborts once every call in it has aborted (null when a call has
 * no signal: it can never be cancelled, so neither can the run it shares); `dispose` removes the listeners.
 */
function mergedSignal(calls: readonly Pending[]): { signal: AbortSignal; dispose: () => void } | null {
  if (calls.some((p) => p.signal === undefined)) return null;
  const controller = new AbortController();
  const signals = calls.map((p) => p.signal!);
  const check = (): void => {
    if (signals.every((s) => s.aborted)) controller.abort(signals[0]!.reason);
  };
  for (const s of signals) s.addEventListener('abort', check, { once: true });
  check();
  return { signal: controller.signal, dispose: () => signals.forEach((s) => s.removeEventListener('abort', check)) };
}
