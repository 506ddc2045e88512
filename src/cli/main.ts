/**
 * The `plait` command line. Owns the terminal: library code reports through return values,
 * progress callbacks and PlaitError codes; this file turns them into output and exit codes.
 *
 * Exit status: 0 ok; 1 a runtime failure; 2 bad usage or input (commander's own refusals — an
 * unknown command or option, a missing argument, bare `plait` — included: commander would say 1);
 * 130 / 143 interrupted by SIGINT / SIGTERM (see interrupt.ts). With `--json` every error,
 * usage errors included, is one line `{"error": {"code", "message", "details"}}` on stderr.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { PlaitError, isPlaitError, noSpaceCode, type ErrorCode } from '../errors/index.js';
import { invokedAs } from './options.js';
import { PAGINATION_FIELDS } from '../util/other-api-fields.js';
import { reportError, withHint } from './report-error.js';
import { otherCommandHint } from './other-command-names.js';

/** Said after an unknown option, the usual way a query or text beginning with '-' goes wrong. */
/** For too many arguments to a command taking a query or text: quoting, and options before '--'. */
export const EXCESS_TEXT_HINT = 'a query of several words is one argument: quote it (plait search <index> "vitamin D and bone density"); options go before \'--\', after which every word is an argument (plait search <index> -k 5 -- "-80 degrees")';
export const DASH_HINT = "an argument beginning with '-' goes after '--' (plait search <index> -- \"-query\") or as --query=-text";

/** Registers one command module's commands on the program. */
type Register = (program: Command) => void;

/**
 * The command modules, in `plait --help`'s order, with the top-level commands each registers. A
 * command line loads only the module of the command it names (a module's imports are most of a
 * short command's time: `plait --version` read 353 modules, `plait info` the whole server and
 * cluster besides the index reader); help, a misspelt command or none loads them all.
 * test/cli-lazy-commands.test.ts holds `commands` to what each module registers.
 */
export const COMMAND_MODULES: readonly { commands: readonly string[]; load: () => Promise<Register> }[] = [
  { commands: ['encode', 'model'], load: async () => (await import('./commands/model-commands.js')).registerModelCommands },
  { commands: ['index', 'info'], load: async () => (await import('./commands/index-commands.js')).registerIndexCommands },
  { commands: ['search', 'rerank'], load: async () => (await import('./commands/search-commands.js')).registerSearchCommands },
  { commands: ['eval'], load: async () => (await import('./commands/eval-command.js')).registerEvalCommand },
  { commands: ['quickstart'], load: async () => (await import('./commands/quickstart-command.js')).registerQuickstartCommand },
  { commands: ['serve'], load: async () => (await import('./commands/serve-command.js')).registerServeCommand },
  { commands: ['calibrate'], load: async () => (await import('./commands/calibrate-command.js')).registerCalibrateCommand },
  { commands: ['explain'], load: async () => (await import('./commands/explain-command.js')).registerExplainCommand },
  { commands: ['add', 'delete', 'compact', 'backup', 'restore'], load: async () => (await import('./commands/living-commands.js')).registerLivingCommands },
  { commands: ['ltr'], load: async () => (await import('./commands/ltr-command.js')).registerLtrCommand },
  { commands: ['cluster'], load: async () => (await import('./commands/cluster-write-commands.js')).registerClusterWriteCommands },
];

/**
 * The program with every command, or with `only` the commands of the module that registers the
 * command named `only` (an unknown name: every command, so that commander can suggest one; null:
 * none, for `plait --version`).
 */
export async function buildProgram(options: { json?: boolean; only?: string | null } = {}): Promise<Command> {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const quiet = options.json === true;
  // exitOverride and configureOutput are inherited by the commands registered below.
  const program = new Command('plait')
    .description('ColBERTv2 / PLAID late-interaction search engine')
    .version(pkg.version)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => {
        if (!quiet) process.stderr.write(s);
      },
      // Commander's refusals are reported by main() as PlaitErrors, with their code in text mode too.
      outputError: () => {},
    })
    // The environment's kernel choices are checked before any command's work (`plait index` would
    // otherwise read the whole corpus first): a typo in PLAIT_SIMD, PLAIT_KERNELS or
    // PLAIT_EXACT_SCORING is INVALID_ARGUMENT at once.
    .hook('preAction', async () => {
      const [{ checkKernelEnv }, { exactScoringMethod }] = await Promise.all([import('../kernels/index.js'), import('../codec/code-scorer.js')]);
      checkKernelEnv();
      exactScoringMethod();
    });
  const { only } = options;
  const named = only === undefined || only === null ? undefined : COMMAND_MODULES.find((m) => m.commands.includes(only));
  const registers = await Promise.all((only === null ? [] : named === undefined ? COMMAND_MODULES : [named]).map((m) => m.load()));
  for (const register of registers) register(program);
  for (const command of program.commands) nameFlagsInValueErrors(command);
  return program;
}

/**
 * A value refused by an option's parser names the option as the command line spells it: the
 * parsers are the library's checks (parseIntArg('nIvfProbe')), whose messages name the library's
 * field — `plait search idx q --ncells 0` said "Expected an integer in [1, 4194304] for nIvfProbe",
 * `-k 0` "for topK", a name the user never typed (trial 13). Each parser of `command` and its
 * subcommands is wrapped so that its INVALID_ARGUMENT says "for --ncells" (`details.flag` too).
 */
function nameFlagsInValueErrors(command: Command): void {
  for (const option of command.options) {
    const parse = option.parseArg;
    if (parse === undefined) continue;
    // `-k, --k <n>`: the short spelling the README and help lead with.
    const flag = option.short !== undefined && (option.long === undefined || option.long.length <= 3) ? option.short : option.long ?? option.flags;
    option.parseArg = <T>(value: string, previous: T): T => {
      try {
        return parse.call(option, value, previous) as T;
      } catch (err) {
        throw inFlagWords(err, flag);
      }
    };
  }
  for (const sub of command.commands) nameFlagsInValueErrors(sub);
}

/**
 * `err` saying `flag` where its message names the library field (`details.name`) it checked:
 * "… for maxBodyBytes but received" → "… for --max-body-bytes but received". Other errors unchanged.
 */
export function inFlagWords(err: unknown, flag: string): unknown {
  if (!(err instanceof PlaitError) || err.code !== 'INVALID_ARGUMENT') return err;
  const name = err.details?.['name'];
  if (typeof name !== 'string' || name === flag) return err;
  const named = ` for ${name}`;
  if (!err.message.includes(named)) return err;
  err.message = err.message.replace(named, ` for ${flag}`);
  if (err.details !== undefined) (err.details as Record<string, unknown>)['flag'] = flag;
  return err;
}

/**
 * A value the library refused after parsing (resolveServerOptions' `logLevel`, `maxBodyBytes`), named
 * by the field whose flag `command` has under the same name in camelCase (`--log-level`: logLevel).
 * A nested field is its path joined in camelCase (`rm3.fbDocs`: `--rm3-fb-docs`'s rm3FbDocs): the
 * RM3/PRF ranges (rm3.ts, prf-options.ts) had been refused "for rm3.fbDocs", the library's name.
 */
function flagOfLibraryName(err: unknown, command: Command | undefined): unknown {
  if (command === undefined || !(err instanceof PlaitError)) return err;
  const name = err.details?.['name'];
  const attribute = typeof name === 'string' ? name.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase()) : undefined;
  const option = attribute === undefined ? undefined : command.options.find((o) => o.attributeName() === attribute && o.long !== undefined);
  return option === undefined ? err : inFlagWords(err, option.long!);
}

/**
 * The command a command line names: its first word that is not an option (the program's own
 * options take no value); null for `plait --version` (no command needed), undefined when none.
 */
function commandWord(args: readonly string[]): string | null | undefined {
  for (const arg of args) {
    if (arg === '--') return undefined;
    if (!arg.startsWith('-')) return arg;
  }
  return args.length === 1 && (args[0] === '--version' || args[0] === '-V') ? null : undefined;
}

/** Codes that mean the command line or its input was wrong (exit 2); any other failure exits 1. */
export const USAGE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'USAGE',
  'INVALID_ARGUMENT',
  'INVALID_INPUT',
  'EMPTY_TEXT',
  'TEXT_NOT_UTF8',
  'MALFORMED_JSONL',
  'MALFORMED_TSV',
  'MALFORMED_CSV',
  'MALFORMED_FRONT_MATTER',
  'MISSING_ID',
  'DUPLICATE_ID',
  'ID_WHITESPACE',
  'INVALID_ID',
  'COMPRESSED_INPUT',
  'CORRUPT_INPUT',
  'DOCUMENT_EXISTS',
  'QUERY_TOO_LARGE',
  'FILE_NOT_FOUND',
  'NOT_WRITABLE',
  'INDEX_NOT_FOUND',
  'DOCUMENT_NOT_FOUND',
  'INDEX_EXISTS',
  'DESTINATION_EXISTS',
  'MODEL_NOT_FOUND',
  'EMPTY_CORPUS',
  'INVALID_FILTER',
  'SYNONYMS_INVALID',
  'LTR_MODEL_INVALID',
  'LTR_FEATURE_MISSING',
]);

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage or input. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (!isPlaitError(err)) return 1;
  return USAGE_ERROR_CODES.has(err.code) ? 2 : 1;
}

/**
 * Names a newcomer tries for the result count, from other tools and from plait's own other doors
 * (`top_k` over HTTP, `topK` in the library); commander's edit-distance suggestion finds `-k` for
 * none of them, and `-n` got the hint for queries beginning with '-' (trial 10).
 */
const TOP_K_GUESSES: ReadonlySet<string> = new Set(['-n', '--n', '--top-k', '--topk', '--top_k', '--topK', '--limit', '--num', '--count', '--num-results', '--size']);

/** Commands with a query or text argument, which a word beginning with '-' can be mistaken for an option of. */
const TEXT_COMMANDS: ReadonlySet<string> = new Set(['search', 'explain', 'rerank', 'encode']);

/**
 * A commander refusal as a PlaitError, so that `--json` callers get the same error shape. `command`:
 * the (sub)command the line named, when known; `program`: the program, whose commands (or
 * `command`'s subcommands) an unknown command word is looked up among by other tools' names.
 */
export function usageError(err: CommanderError, command?: Command, program?: Command): PlaitError {
  // Commander puts its suggestion on a second line ("\n(Did you mean --mode?)"): it becomes the hint.
  const [first = '', ...more] = err.message.replace(/^error: /, '').split('\n');
  const suggestion = more.join(' ').trim().replace(/^\((.*)\)$/, '$1');
  const message = err.code === 'commander.help' ? 'no command given (plait --help lists them)' : first;
  const reason = err.code.replace(/^commander\./, '');
  // A value outside an option's choices is the same kind of refusal as a value our own parsers
  // refuse (parseIntArg, --cross-variant): INVALID_ARGUMENT, so --json callers see one code for both.
  if (reason === 'invalidArgument') return new PlaitError('INVALID_ARGUMENT', { message, reason });
  // The '--' hint is for a query or text that begins with one '-' ("-80 degrees"); an unknown
  // '--name' is a mistyped or unsupported option, for which commander may suggest a near one.
  // Only where a query or text is an argument (plait info -n had been told about queries).
  const takesText = command !== undefined && TEXT_COMMANDS.has(command.name());
  const dashed = reason === 'unknownOption' && takesText && !/unknown option '--/.test(message);
  const unknown = reason === 'unknownOption' ? /unknown option '([^']+)'/.exec(message)?.[1] : undefined;
  const takesK = command?.options.some((o) => o.short === '-k') === true;
  const topK = unknown !== undefined && takesK && TOP_K_GUESSES.has(unknown.split('=')[0] as string);
  // Other engines' paging flags (--page, --from, --start, --skip): commander had offered --tag for --page.
  const pagingFlag = unknown?.split('=')[0]?.replace(/^--?/, '');
  const takesOffset = command?.options.some((o) => o.long === '--offset') === true;
  const paging = pagingFlag !== undefined && takesOffset && PAGINATION_FIELDS.has(pagingFlag)
    ? `plait pages with --offset <n> (results to skip) and -k <n> (the page size)${pagingFlag === 'page' ? ': page n (1-based) of size s is --offset (n - 1)·s -k s, so page 2 of 10 is --offset 10 -k 10' : ''}`
    : undefined;
  // Another tool's name for a command (`plait sync`, `plait rm`, `plait ls`) gets plait's, in place of commander's nearest spelling.
  const level = command ?? program;
  const word = reason === 'unknownCommand' ? /unknown command '([^']+)'/.exec(message)?.[1] : undefined;
  const renamed = word === undefined || level === undefined ? undefined : otherCommandHint(word, level.commands.map((c) => c.name()), command === undefined ? [] : [command.name()]);
  // Too many words where a query or text is an argument: an unquoted query, or options written after
  // '--' (`plait search idx -- "-80 degrees" -k 2`, README's form plus a flag), which commander reads as
  // more arguments. It had said only "too many arguments for 'search'. Expected 2 arguments but got 4".
  const excess = reason === 'excessArguments' && takesText ? EXCESS_TEXT_HINT : undefined;
  const hint = topK ? 'Did you mean -k <n> (--k)? the number of results: topK in the library, top_k over HTTP' : paging ?? renamed ?? excess ?? (dashed ? DASH_HINT : suggestion !== '' ? suggestion : undefined);
  return new PlaitError('USAGE', hint === undefined ? { message, reason } : { message, reason, hint });
}

/**
 * `plait search … | head`: once the reader of stdout has gone, stop quietly (as `seq 1e9 | head`
 * does), instead of dying on an unhandled EPIPE with a stack trace. A command that already
 * committed a change has done so before it prints its result line.
 */
function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

/**
 * The help command for the command a refused command line named: `plait delete --help` for
 * `plait delete idx extra`, `plait cluster add --help` for a subcommand, `plait --help` when no
 * command was recognised; `plait` written the way the user ran it (invokedAs). (It had said `(add --help for usage)`, which reads as `plait add --help`.)
 */
export function helpCommand(program: Command, args: readonly string[]): string {
  return `${[invokedAs(), ...commandPath(program, args).map((c) => c.name())].join(' ')} --help`;
}

/** The (sub)commands a command line names, outermost first (`plait cluster add …`: cluster, add). */
function commandPath(program: Command, args: readonly string[]): Command[] {
  const path: Command[] = [];
  let current = program;
  for (const arg of args) {
    if (arg === '--') break;
    if (arg.startsWith('-')) continue;
    const sub = current.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    path.push(sub);
    current = sub;
  }
  return path;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedStdout();
  const args = argv.slice(2);
  const end = args.indexOf('--');
  const json = (end < 0 ? args : args.slice(0, end)).includes('--json');
  const program = await buildProgram({ json, only: commandWord(args) });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // One shape for every error: `plait: message [CODE]` and the hint (unknown option: the '--'
      // hint), then where to look; --json: the JSON line alone.
      if (err.exitCode !== 0) {
        reportError(usageError(err, commandPath(program, args).at(-1), program), json);
        if (!json && err.code !== 'commander.help') process.stderr.write(`(${helpCommand(program, args)} for usage)\n`);
      }
    } else {
      reportError(noSpaceError(flagOfLibraryName(err, commandPath(program, args).at(-1))), json);
      // A command line that a command's own checks refuse (`plait delete idx` without --ids or --filter,
      // `plait search idx` without a query) points at the same help as commander's refusals; it had ended
      // at the message alone.
      if (!json && err instanceof PlaitError && err.code === 'USAGE' && !err.message.includes('--help')) {
        process.stderr.write(`(${helpCommand(program, args)} for usage)\n`);
      }
    }
    process.exitCode = exitCodeFor(err);
  }
}

/**
 * A full disk (ENOSPC, EDQUOT, SQLite's SQLITE_FULL, errors/no-space.ts) as NO_SPACE with a hint,
 * instead of the raw error's stack trace; anything else unchanged. An index write that stops so
 * has committed nothing (its transaction removes what it wrote).
 */
function noSpaceError(err: unknown): unknown {
  const code = noSpaceCode(err);
  if (code === undefined || (err instanceof PlaitError && err.code === 'NO_SPACE')) return err;
  const message = err instanceof Error ? err.message : String(err);
  return withHint(new PlaitError('NO_SPACE', { message: `the disk is full (${code}): ${message}`, errno: code }, { cause: err }), 'free space on that disk and run the command again: an index write that stopped so committed nothing');
}
