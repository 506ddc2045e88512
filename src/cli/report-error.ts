/** How the CLI writes an error: one JSON line with `--json`, else `plait: message [CODE]` and a hint line. */
import { PlaitError } from '../errors/index.js';

const hints = new WeakMap<object, string>();

/** Attaches a hint ("add --skip-invalid ...") that the CLI prints under the error (`details.hint` with --json). */
export function withHint<E extends object>(err: E, hint: string): E {
  hints.set(err, hint);
  return err;
}

/**
 * The CLI's own advice for an error whose library message is the same for every reader (library,
 * HTTP, CLI): here, the flag that sets what the error names. An HTTP client was told "--lock-wait-s
 * sets how long" when the library said it.
 */
function cliAdvice(err: PlaitError): string | undefined {
  if (err.code === 'INDEX_LOCKED' && typeof err.details?.['waitedMs'] === 'number') return '--lock-wait-s <s> sets how long plait waits for the lock';
  // The model's library messages name no flag (they reach library, integration and HTTP readers too).
  // A damaged file of a pulled model (encoder/hub/cache-repair.ts): the command that repairs it.
  if (typeof err.details?.['repairWith'] === 'string') return `plait model pull ${err.details['repairWith']} re-checks every file's sha256 and re-fetches the damaged ones; then run this command again`;
  // An index's recorded model: leaving out --model means that very model, so only naming where it is now helps.
  if (typeof err.details?.['recordedModel'] === 'string') return '--model <dir> names where the index\'s model is now (its folder; the index checks that it is the same model)';
  if (err.code === 'OFFLINE' || (err.code === 'DOWNLOAD_FAILED' && err.details?.['unreachable'] === true)) return '--model <dir> names a local model folder; leave out --model for the bundled model';
  if (err.code === 'MODEL_UNSUPPORTED' && err.details?.['quantize'] === 'int8') return '--quantize int8 needs --model <a BERT or ModernBERT checkpoint folder or hub id>; otherwise leave out --quantize';
  if (err.code === 'MODEL_UNSUPPORTED' && err.details?.['exportable'] === true) return '--model <dir> takes the folder holding the exported model.onnx and tokenizer.json';
  // No NATS server where --nats points (a newcomer trying README's cluster lines before starting one).
  if (err.code === 'CLUSTER_UNAVAILABLE' && err.details?.['reason'] === 'natsUnreachable') return 'start a NATS server with JetStream first (nats-server -js; README "Cluster: shards and replicas on NATS"), or point --nats at the one you run';
  return undefined;
}

export function reportError(err: unknown, json: boolean): void {
  if (err instanceof PlaitError) {
    const hint = hints.get(err) ?? (typeof err.details?.['hint'] === 'string' ? (err.details['hint'] as string) : undefined) ?? cliAdvice(err);
    if (json) {
      const body = err.toJSON();
      process.stderr.write(`${JSON.stringify({ error: hint === undefined ? body : { ...body, details: { ...body.details, hint } } })}\n`);
      return;
    }
    process.stderr.write(`plait: ${err.message} [${err.code}]\n`);
    if (hint !== undefined) process.stderr.write(`plait: ${hint}\n`);
  } else {
    process.stderr.write(`plait: ${(err as Error)?.stack ?? String(err)}\n`);
  }
}
