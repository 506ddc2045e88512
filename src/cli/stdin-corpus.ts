/**
 * A corpus on standard input (`<input>` given as `-`): `plait add <index> -` and `plait cluster add
 * <name> - --nats <url>` (`jq -c 'select(.year > 2020)' corpus.jsonl | plait add idx -`). The
 * corpus reader reads its input more than once (a check pass, then the pass that encodes, and a
 * cluster add reads it whole before anything is published), so standard input is read whole first,
 * into a file in a private temporary folder (removed afterwards; messages name it `standard input`).
 * That file has no extension, so its format is the reader's rule for any such file: `--format`
 * when given, else told by its first non-blank line (resolve-input.ts); gzip'd input is told by its
 * magic bytes, as for a file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlaitError, isPlaitError } from '../errors/index.js';

/** Where the input was spooled, and how to remove it. */
export interface SpooledInput {
  /** The file holding the whole of standard input. */
  path: string;
  dispose(): void;
}

/**
 * Reads standard input whole into a temporary file.
 * @param command the command, for the message when standard input is a terminal (`plait add`).
 * @throws PlaitError FILE_NOT_FOUND when standard input is a terminal (nothing piped in).
 */
export async function spoolStdin(command: string): Promise<SpooledInput> {
  if (process.stdin.isTTY) throw new PlaitError('FILE_NOT_FOUND', { message: `${command} -: standard input is a terminal; pipe the corpus in or give a file`, path: '-' });
  // Streamed, not readFileSync(0): a pipe left non-blocking by its writer answers EAGAIN to a synchronous read.
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const dir = mkdtempSync(join(tmpdir(), 'plait-stdin-'));
  const path = join(dir, 'standard-input');
  try {
    writeFileSync(path, Buffer.concat(chunks));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What messages call standard input in place of the temporary file's path. */
export const STDIN_NAME = 'standard input';

/**
 * Runs `work` on the corpus path: `input` itself, or standard input spooled to a file when it is `-`.
 * `shown` turns a message naming that file into one naming standard input (for warnings); a
 * PlaitError that names it (`details.file`, its message) is thrown naming standard input instead,
 * so that "Malformed JSONL in standard input at line 2" does not point at a file already removed.
 */
export async function withCorpusInput<T>(input: string, command: string, work: (path: string, shown: (text: string) => string) => Promise<T>): Promise<T> {
  if (input !== '-') return work(input, (text) => text);
  const spooled = await spoolStdin(command);
  const shown = (text: string): string => text.split(spooled.path).join(STDIN_NAME);
  try {
    return await work(spooled.path, shown);
  } catch (e) {
    if (isPlaitError(e) && e.message.includes(spooled.path)) {
      // The error is this command's own (made by the reader for this file): its text and details are rewritten in place.
      e.message = shown(e.message);
      const details = e.details as Record<string, unknown> | undefined;
      for (const key of ['file', 'path']) if (details?.[key] === spooled.path) details[key] = STDIN_NAME;
    }
    throw e;
  } finally {
    spooled.dispose();
  }
}
