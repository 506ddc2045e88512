/**
 * The `plait` command line. Owns the terminal: library code reports through return values,
 * progress callbacks and PlaitError codes; this file turns them into output and exit codes.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { PlaitError, isPlaitError } from '../errors/index.js';
import { registerIndexCommands } from './commands/index-commands.js';
import { registerSearchCommands } from './commands/search-commands.js';
import { registerModelCommands } from './commands/model-commands.js';
import { registerEvalCommand } from './commands/eval-command.js';
import { registerQuickstartCommand } from './commands/quickstart-command.js';
import { registerCalibrateCommand } from './commands/calibrate-command.js';

export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('plait')
    .description('ColBERTv2 / PLAID late-interaction search engine')
    .version(pkg.version)
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerModelCommands(program);
  registerIndexCommands(program);
  registerSearchCommands(program);
  registerEvalCommand(program);
  registerQuickstartCommand(program);
  registerCalibrateCommand(program);
  return program;
}

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage or input. */
export function exitCodeFor(err: unknown): number {
  if (!isPlaitError(err)) return 1;
  return ['INVALID_ARGUMENT', 'INVALID_INPUT', 'EMPTY_TEXT', 'TEXT_NOT_UTF8', 'MALFORMED_JSONL', 'MISSING_ID', 'DUPLICATE_ID', 'QUERY_TOO_LARGE'].includes(err.code) ? 2 : 1;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const json = argv.includes('--json');
    if (err instanceof PlaitError) {
      process.stderr.write(json ? `${JSON.stringify({ error: err.toJSON() })}\n` : `plait: ${err.message} [${err.code}]\n`);
    } else {
      process.stderr.write(`plait: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exitCode = exitCodeFor(err);
  }
}

