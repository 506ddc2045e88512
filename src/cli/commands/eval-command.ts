import type { Command } from 'commander';

/** `plait eval`: wired once the evaluation module lands. */
export function registerEvalCommand(_program: Command): void {}
