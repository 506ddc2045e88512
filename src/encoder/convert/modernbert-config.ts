/**
 * `config.json` of a ModernBERT (`model_type: "modernbert"`: answerdotai/ModernBERT-base,
 * lightonai/GTE-ModernColBERT-v1) → the architecture the
 * graph builder needs. Field names and defaults are transformers' ModernBertConfig
 * (models/modernbert/configuration_modernbert.py, and modular_modernbert.py of transformers 5):
 * - which layers attend globally: `layer_types` ("full_attention" / "sliding_attention") when
 *   present, else layer i is global when i % global_attn_every_n_layers (default 3) is 0;
 * - rotary bases: `rope_parameters.full_attention.rope_theta` / `.sliding_attention.rope_theta`
 *   (transformers 5), else `global_rope_theta` (160 000) and `local_rope_theta` (10 000; an explicit
 *   null means "the global base", as ModernBertAttention of transformers 4.48 reads it); only the
 *   "default" rope type (no scaling) is converted;
 * - `local_attention` (128) is the whole window: a token attends to keys at distance ≤ 64;
 * - `hidden_activation` (transformers' name; `hidden_act` also read), `norm_eps` (1e-5),
 *   `norm_bias`, `attention_bias`, `mlp_bias` (all false in released checkpoints).
 */
import { PlaitError } from '../../errors/index.js';
import { ACTIVATIONS, int, unsupported, type HiddenAct } from './bert-config.js';

export type AttentionKind = 'global' | 'local';

export interface ModernBertArchitecture {
  family: 'modernbert';
  /** What config.json calls it, e.g. "ModernBertModel". */
  architecture: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** GeGLU width: Wi projects to 2 × this, Wo back from it. */
  intermediateSize: number;
  hiddenAct: HiddenAct;
  normEps: number;
  normBias: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
  /** Whole local window in tokens; a local layer's token attends to keys at distance ≤ ⌊localAttention / 2⌋. */
  localAttention: number;
  /** Per layer, in order. */
  layerTypes: AttentionKind[];
  globalRopeTheta: number;
  localRopeTheta: number;
  maxPositions: number;
}

const DEFAULT_GLOBAL_THETA = 160_000;
const DEFAULT_LOCAL_THETA = 10_000;

function flag(c: Record<string, unknown>, key: string, source: string): boolean {
  const v = c[key] ?? false;
  if (typeof v !== 'boolean') throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source}: expected true or false for ${key} but received ${JSON.stringify(v)}`, source });
  return v;
}

function theta(v: unknown, key: string, source: string): number {
  if (typeof v !== 'number' || !(v > 0)) throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source}: expected a positive number for ${key} but received ${JSON.stringify(v)}`, source });
  return v;
}

/** rope_parameters[kind] of transformers 5, checked to be the unscaled "default" rope. */
function ropeEntry(config: Record<string, unknown>, kind: string, source: string, architecture: string): Record<string, unknown> | null {
  const all = config['rope_parameters'];
  if (all === undefined || all === null) return null;
  const entry = (all as Record<string, unknown>)[kind];
  if (entry === undefined || entry === null || typeof entry !== 'object') return null;
  const e = entry as Record<string, unknown>;
  const type = e['rope_type'] ?? e['type'] ?? 'default';
  if (type !== 'default') throw unsupported(`a ModernBERT with ${String(type)} rotary scaling (${architecture})`, source, { architecture });
  return e;
}

/** Reads a parsed config.json whose model_type is "modernbert"; throws MODEL_UNSUPPORTED or MODEL_LOAD_FAILED. */
export function modernBertArchitecture(config: Record<string, unknown>, source: string): ModernBertArchitecture {
  const architectures = Array.isArray(config['architectures']) ? config['architectures'].filter((a): a is string => typeof a === 'string') : [];
  const architecture = architectures[0] ?? 'ModernBertModel';
  if (config['auto_map'] !== undefined) throw unsupported(`a ModernBERT variant with its own Python code (${architecture}, auto_map in config.json)`, source, { architecture });
  const scaling = config['rope_scaling'];
  if (scaling !== undefined && scaling !== null) throw unsupported(`a ModernBERT with rope_scaling ${JSON.stringify(scaling)} (${architecture})`, source, { architecture });
  const act = config['hidden_activation'] ?? config['hidden_act'] ?? 'gelu';
  const hiddenAct = typeof act === 'string' ? ACTIVATIONS[act] : undefined;
  if (hiddenAct === undefined) throw unsupported(`a ModernBERT with hidden_activation ${JSON.stringify(act)}`, source, { architecture });
  const hiddenSize = int(config, 'hidden_size', 768, source);
  const numHeads = int(config, 'num_attention_heads', 12, source);
  if (numHeads === 0 || hiddenSize % numHeads !== 0 || (hiddenSize / numHeads) % 2 !== 0) {
    throw new PlaitError('MODEL_MISMATCH', { message: `${source}: hidden_size ${hiddenSize} is not an even multiple of num_attention_heads ${numHeads} (rotary embeddings need an even head size)`, source });
  }
  const numLayers = int(config, 'num_hidden_layers', 22, source);
  let layerTypes: AttentionKind[];
  const declared = config['layer_types'];
  if (Array.isArray(declared)) {
    if (declared.length !== numLayers || !declared.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source}: layer_types must list "full_attention" or "sliding_attention" for each of the ${numLayers} layers`, source });
    }
    layerTypes = declared.map((t) => (t === 'full_attention' ? 'global' : 'local'));
  } else {
    const every = int(config, 'global_attn_every_n_layers', 3, source);
    if (every === 0) throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source}: global_attn_every_n_layers must be positive`, source });
    layerTypes = Array.from({ length: numLayers }, (_, i) => (i % every === 0 ? 'global' : 'local'));
  }
  const full = ropeEntry(config, 'full_attention', source, architecture);
  const sliding = ropeEntry(config, 'sliding_attention', source, architecture);
  const globalRopeTheta = theta(full?.['rope_theta'] ?? config['global_rope_theta'] ?? DEFAULT_GLOBAL_THETA, 'global_rope_theta', source);
  const localRaw = sliding?.['rope_theta'] ?? ('local_rope_theta' in config ? config['local_rope_theta'] : DEFAULT_LOCAL_THETA);
  const localRopeTheta = localRaw === null ? globalRopeTheta : theta(localRaw, 'local_rope_theta', source);
  const eps = config['norm_eps'] ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source}: norm_eps ${JSON.stringify(eps)} is not a positive number`, source });
  const localAttention = int(config, 'local_attention', 128, source);
  if (localAttention < 2) throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source}: local_attention ${localAttention} is below 2`, source });
  return {
    family: 'modernbert',
    architecture,
    vocabSize: int(config, 'vocab_size', 50368, source),
    hiddenSize,
    numLayers,
    numHeads,
    intermediateSize: int(config, 'intermediate_size', 1152, source),
    hiddenAct,
    normEps: eps,
    normBias: flag(config, 'norm_bias', source),
    attentionBias: flag(config, 'attention_bias', source),
    mlpBias: flag(config, 'mlp_bias', source),
    localAttention,
    layerTypes,
    globalRopeTheta,
    localRopeTheta,
    maxPositions: int(config, 'max_position_embeddings', 8192, source),
  };
}
