/**
 * A shard that does not belong with its cluster — compressed with another codebook, encoded by
 * another model, or cut into another number of shards — is a mismatch, not a damaged file: it is
 * refused with MODEL_MISMATCH (the code a query encoder that differs from its index's model gets),
 * naming every field that differs, and not with INDEX_CORRUPT, which sends a user to verify files
 * that are sound. The replica checks itself against cluster.json at start; the coordinator checks
 * every shard that answered against cluster.json (or shard 0 without one).
 */
import { PlaitError } from '../errors/index.js';
import type { ModelInfo } from '../encoder/types.js';

/** What must agree across a cluster's shards; `model` and `shards` are compared where both sides know them. */
export interface ShardIdentity {
  /** codebookChecksum of the centroids, cutoffs and weights. */
  codebook: string;
  shards?: number;
  /** The manifest's model (name, dim, fingerprint of its files when recorded). */
  model?: Pick<ModelInfo, 'name' | 'dim' | 'fingerprint'>;
}

/** One differing field: its name, the expected value (the cluster's) and the shard's. */
export interface ShardDifference {
  field: 'model' | 'codebook' | 'shards';
  expected: string | number;
  received: string | number;
}

function short(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 12)}…` : hex;
}

function modelLabel(m: NonNullable<ShardIdentity['model']>): string {
  return `${m.name} (dim ${m.dim}${m.fingerprint === undefined ? '' : `, fingerprint ${short(m.fingerprint)}`})`;
}

/** The fields in which `shard` differs from `expected`, model first (a model that differs explains a codebook that does). */
export function shardDifferences(expected: ShardIdentity, shard: ShardIdentity): ShardDifference[] {
  const out: ShardDifference[] = [];
  const a = expected.model;
  const b = shard.model;
  if (a !== undefined && b !== undefined && (a.name !== b.name || a.dim !== b.dim || (a.fingerprint !== undefined && b.fingerprint !== undefined && a.fingerprint !== b.fingerprint))) {
    out.push({ field: 'model', expected: modelLabel(a), received: modelLabel(b) });
  }
  if (expected.codebook !== shard.codebook) out.push({ field: 'codebook', expected: expected.codebook, received: shard.codebook });
  if (expected.shards !== undefined && shard.shards !== undefined && expected.shards !== shard.shards) out.push({ field: 'shards', expected: expected.shards, received: shard.shards });
  return out;
}

/**
 * MODEL_MISMATCH for `what` (e.g. `shard 1 of cluster "big"`) against `against` (e.g. `cluster.json`),
 * with details `{ differs: ['codebook', ...], differences, shard? }`; null when nothing differs.
 */
export function shardMismatch(what: string, against: string, differences: ShardDifference[], shard?: number): PlaitError | null {
  if (differences.length === 0) return null;
  const text = differences.map((d) => (d.field === 'codebook' ? `codebook (centroids, residual cutoffs and weights): ${against} ${short(String(d.expected))}, shard ${short(String(d.received))}` : `${d.field}: ${against} ${d.expected}, shard ${d.received}`));
  return new PlaitError('MODEL_MISMATCH', {
    message: `${what} does not belong with ${against}: ${text.join('; ')} (a shard of another build; rebuild the cluster, or serve this shard's own cluster)`,
    differs: differences.map((d) => d.field),
    differences,
    ...(shard === undefined ? {} : { shard }),
  });
}

/** The part of a model's info that cluster.json records. */
export function modelIdentity(m: Pick<ModelInfo, 'name' | 'dim' | 'fingerprint'>): NonNullable<ShardIdentity['model']> {
  return { name: m.name, dim: m.dim, ...(m.fingerprint === undefined ? {} : { fingerprint: m.fingerprint }) };
}
