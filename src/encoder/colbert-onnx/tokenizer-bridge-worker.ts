/**
 * Worker side of the synchronous tokenizer bridge: owns a `tokenizers` Tokenizer, answers each
 * request on the given port, then wakes the blocked caller through the shared control word.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Tokenizer } from 'tokenizers';
import { hfTokenizers } from '../native-runtimes.js';

export interface BridgeInit {
  file: string;
  control: SharedArrayBuffer;
  port: MessagePort;
}

export interface BridgeReply {
  ids?: Int32Array;
  /** Code-point offsets as the binding gives them, pairs flattened. */
  offsets?: Int32Array;
  error?: string;
}

const { file, control, port } = workerData as BridgeInit;
const flag = new Int32Array(control);
let tokenizer: Tokenizer | null = null;
let loadError: string | null = null;
try {
  tokenizer = hfTokenizers().Tokenizer.fromFile(file);
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
} catch (e) {
  loadError = (e as Error).message;
}

function reply(message: BridgeReply): void {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

port.on('message', (text: string) => {
  if (tokenizer === null) {
    reply({ error: loadError ?? 'tokenizer not loaded' });
    return;
  }
  tokenizer.encode(text, null, { addSpecialTokens: false }).then(
    (enc) => {
      const offsets = enc.getOffsets();
      const flat = new Int32Array(offsets.length * 2);
      offsets.forEach(([s, e], i) => {
        flat[2 * i] = s ?? 0;
        flat[2 * i + 1] = e ?? 0;
      });
      reply({ ids: Int32Array.from(enc.getIds()), offsets: flat });
    },
    (e: unknown) => reply({ error: (e as Error).message }),
  );
});
parentPort?.postMessage('ready');
