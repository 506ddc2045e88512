/**
 * A synchronous `tokenize` for any tokenizer.json (BPE, Unigram...), for checkpoints the in-thread
 * WordPiece tokenizer does not cover: the `tokenizers` binding only encodes asynchronously, so a
 * worker runs it while the caller blocks on a shared control word (Atomics.wait) and then takes the
 * reply off the port synchronously (receiveMessageOnPort). Costs a thread hop per call, so BERT
 * checkpoints keep the in-thread tokenizer.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { COLBERT_ONNX_DEFAULTS } from '../../config/defaults.js';
import { PlaitError } from '../../errors/index.js';
import type { TokenizedText } from '../types.js';
import type { BridgeReply } from './tokenizer-bridge-worker.js';

export class BridgedTokenizer {
  private readonly flag: Int32Array;
  private readonly port: MessagePort;
  private readonly worker: Worker;

  constructor(private readonly file: string) {
    const control = new SharedArrayBuffer(4);
    this.flag = new Int32Array(control);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./tokenizer-bridge-worker.js', import.meta.url), {
      workerData: { file, control, port: port2 },
      transferList: [port2],
    });
    // The bridge must never keep a process alive on its own.
    this.worker.unref();
    this.port.unref();
  }

  tokenize(text: string): TokenizedText {
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(text);
    const waited = Atomics.wait(this.flag, 0, 0, COLBERT_ONNX_DEFAULTS.tokenizerBridgeTimeoutMs);
    const message = receiveMessageOnPort(this.port)?.message as BridgeReply | undefined;
    if (waited === 'timed-out' || message === undefined) {
      throw new PlaitError('TOKENIZER_FAILED', { message: `no answer from the tokenizer worker for ${this.file}`, file: this.file });
    }
    if (message.error !== undefined || message.ids === undefined || message.offsets === undefined) {
      throw new PlaitError('TOKENIZER_FAILED', { message: `${this.file}: ${message.error ?? 'empty reply'}`, file: this.file });
    }
    return { ids: message.ids, offsets: codePointsToUtf16(text, message.offsets) };
  }

  async close(): Promise<void> {
    this.port.close();
    await this.worker.terminate();
  }
}

/** The binding counts offsets in code points; JavaScript strings index UTF-16 units. */
export function codePointsToUtf16(text: string, offsets: Int32Array): Int32Array {
  let astral = false;
  for (let i = 0; i < text.length && !astral; i++) astral = text.charCodeAt(i) >= 0xd800 && text.charCodeAt(i) <= 0xdbff;
  if (!astral) return offsets;
  const map: number[] = [];
  let u = 0;
  for (const ch of text) {
    map.push(u);
    u += ch.length;
  }
  map.push(u);
  return offsets.map((o) => map[o] ?? u);
}
