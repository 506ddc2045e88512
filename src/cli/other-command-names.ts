/**
 * The names other tools give to plait's commands — Elasticsearch's and Meilisearch's verbs, a
 * shell's, Git's, a REST client's — and the plait command line each means. Commander's suggestion
 * is by edit distance alone, which found the wrong command or none: `plait remove` was told "Did
 * you mean one of restore, serve?", and `plait sync` (plait's own word, `plait add --sync`), `plait
 * rm`, `plait ls`, `plait status`, `plait update` nothing at all (trial 13).
 */

/** plait's command → what it is called elsewhere, and the usage line to show for it. */
const OTHER_NAMES: readonly { command: string; usage: string; names: readonly string[]; topLevelOnly?: true }[] = [
  // `plait cluster add` has no --sync: only `plait sync` is told about it.
  { command: 'add', usage: 'plait add <index> <folder> --sync (the index then holds exactly the folder: changed documents re-encoded, removed ones deleted)', names: ['sync', 'resync', 'mirror'], topLevelOnly: true },
  { command: 'add', usage: 'plait add <index> <input> (upsert by id; --sync to mirror a folder)', names: ['update', 'upsert', 'import', 'insert', 'ingest', 'put', 'append', 'reindex'] },
  // `plait rm my-index`, `plait drop my-index` often mean the index itself, which no plait command removes.
  { command: 'delete', usage: 'plait delete <index> --ids <file> or --filter <json> (deletes documents; a whole index is a folder of its own: plait info <index> prints its path, then rm -r it)', names: ['remove', 'rm', 'del', 'erase', 'drop', 'purge'] },
  { command: 'info', usage: 'plait info <index> (its counts, generation, deleted passages; plait info alone lists the indexes)', names: ['ls', 'list', 'indexes', 'status', 'stats', 'show', 'describe', 'stat', 'health'] },
  { command: 'compact', usage: 'plait compact <index> (reclaims deleted passages)', names: ['optimize', 'optimise', 'merge', 'vacuum', 'gc', 'forcemerge'] },
  { command: 'search', usage: 'plait search <index> <query>', names: ['query', 'find', 'ask', 'lookup', 'retrieve'] },
  { command: 'backup', usage: 'plait backup <index> <dest> (a consistent copy while it serves and changes)', names: ['dump', 'export', 'snapshot', 'copy', 'cp', 'save', 'clone'] },
  { command: 'restore', usage: 'plait restore <backup> <index>', names: ['load', 'recover', 'rollback'] },
  { command: 'index', usage: 'plait index <input> --index <name>', names: ['build', 'create', 'new', 'init', 'make'] },
  { command: 'serve', usage: 'plait serve <index...>', names: ['server', 'start', 'run', 'http', 'api', 'listen'] },
  { command: 'eval', usage: 'plait eval <BEIR folder or index>', names: ['evaluate', 'bench', 'benchmark', 'score'] },
  { command: 'encode', usage: 'plait encode <texts...>', names: ['embed', 'embeddings', 'vectorize'] },
];

/**
 * The hint for an unknown command word `word` at a level whose commands are `available` (the
 * program's, or `plait cluster`'s): "Did you mean plait delete? plait delete <index> --ids …", or
 * undefined when `word` is no other tool's name for one of them. `path`: the command words before
 * it (`['cluster']` for `plait cluster rm`), where the usage line is shortened to the command.
 */
export function otherCommandHint(word: string, available: readonly string[], path: readonly string[] = []): string | undefined {
  const entry = OTHER_NAMES.find((e) => e.names.includes(word.toLowerCase()) && available.includes(e.command) && (e.topLevelOnly !== true || path.length === 0));
  if (entry === undefined) return undefined;
  const named = ['plait', ...path, entry.command].join(' ');
  return path.length === 0 ? `Did you mean ${named}? ${entry.usage}` : `Did you mean ${named}? (${named} --help)`;
}
