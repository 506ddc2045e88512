/**
 * `config.json` → the BERT architecture the graph builder needs, or a MODEL_UNSUPPORTED that names
 * the architecture and what to do. Absolute-position BERT encoders (BERT-base ColBERTv2,
 * answerai-colbert-small, MiniLM cross-encoders are all `model_type: "bert"`) are read here,
 * ModernBERT in modernbert-config.ts; other families differ in ways a BERT graph would get
 * silently wrong: XLM-R/RoBERTa (position ids offset by the padding index), JinaBERT (ALiBi,
 * custom code), DistilBERT/ELECTRA/DeBERTa (other weight names or attention).
 * Field names and defaults are transformers' BertConfig.
 */
import { PlaitError } from '../../errors/index.js';

export type HiddenAct = 'gelu' | 'gelu_tanh' | 'relu';

export interface BertArchitecture {
  family: 'bert';
  /** What config.json calls it, e.g. "HF_ColBERT" or "BertForSequenceClassification". */
  architecture: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  hiddenAct: HiddenAct;
  layerNormEps: number;
  maxPositions: number;
  /** 0 when the model has no token type embeddings. */
  typeVocabSize: number;
  /** Classifier outputs (cross-encoders), from num_labels or id2label; 1 when unspecified. */
  numLabels: number;
}

/** hidden_act spellings of transformers' ACT2FN, by the formula they compute. */
export const ACTIVATIONS: Record<string, HiddenAct> = {
  gelu: 'gelu',
  gelu_python: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  relu: 'relu',
};

const WHAT_TO_DO =
  'plait converts BERT and ModernBERT checkpoints only; export this model to ONNX with Python (e.g. optimum-cli export onnx, or PyLate / the model card\'s export script) ' +
  'and give plait the folder holding model.onnx and tokenizer.json as the model, or wait for plait to support it';

export function unsupported(what: string, source: string, details: Record<string, unknown> = {}): PlaitError {
  return new PlaitError('MODEL_UNSUPPORTED', { message: `${source} is ${what}. ${WHAT_TO_DO}`, source, exportable: true, ...details });
}

export function int(c: Record<string, unknown>, key: string, fallback: number | undefined, source: string): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source}: expected a non-negative integer for ${key} but received ${JSON.stringify(v)}`, source });
  }
  return v;
}

/** Reads a parsed config.json (source names it in errors); throws MODEL_UNSUPPORTED or MODEL_LOAD_FAILED. */
export function bertArchitecture(config: Record<string, unknown>, source: string): BertArchitecture {
  const modelType = typeof config['model_type'] === 'string' ? (config['model_type'] as string) : undefined;
  const architectures = Array.isArray(config['architectures']) ? config['architectures'].filter((a): a is string => typeof a === 'string') : [];
  const architecture = architectures[0] ?? modelType ?? 'unknown';
  if (modelType !== undefined && modelType !== 'bert') {
    throw unsupported(`a "${modelType}" model (${architecture})`, source, { modelType, architecture });
  }
  if (modelType === undefined && !architectures.some((a) => /^(Bert|HF_ColBERT)/.test(a))) {
    throw unsupported(`a model whose config.json names no BERT architecture (architectures ${JSON.stringify(architectures)})`, source, { architecture });
  }
  if (config['auto_map'] !== undefined || architectures.some((a) => /jina/i.test(a))) {
    throw unsupported(`a BERT variant with its own Python code (${architecture}${config['auto_map'] === undefined ? '' : ', auto_map in config.json'})`, source, { architecture });
  }
  const positions = config['position_embedding_type'] ?? 'absolute';
  if (positions !== 'absolute') {
    throw unsupported(`a BERT variant with ${String(positions)} position embeddings (${architecture})`, source, { architecture });
  }
  const act = config['hidden_act'] ?? 'gelu';
  const hiddenAct = typeof act === 'string' ? ACTIVATIONS[act] : undefined;
  if (hiddenAct === undefined) throw unsupported(`a BERT with hidden_act ${JSON.stringify(act)}`, source, { architecture });
  const hiddenSize = int(config, 'hidden_size', 768, source);
  const numHeads = int(config, 'num_attention_heads', 12, source);
  if (numHeads === 0 || hiddenSize % numHeads !== 0) {
    throw new PlaitError('MODEL_MISMATCH', { message: `${source}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`, source });
  }
  const eps = config['layer_norm_eps'] ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0)) throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source}: layer_norm_eps ${JSON.stringify(eps)} is not a positive number`, source });
  const id2label = config['id2label'];
  const labels = typeof config['num_labels'] === 'number' ? config['num_labels'] : id2label !== null && typeof id2label === 'object' ? Object.keys(id2label).length : 1;
  return {
    family: 'bert',
    architecture,
    vocabSize: int(config, 'vocab_size', 30522, source),
    hiddenSize,
    numLayers: int(config, 'num_hidden_layers', 12, source),
    numHeads,
    intermediateSize: int(config, 'intermediate_size', 3072, source),
    hiddenAct,
    layerNormEps: eps,
    maxPositions: int(config, 'max_position_embeddings', 512, source),
    typeVocabSize: int(config, 'type_vocab_size', 2, source),
    numLabels: Math.max(1, labels),
  };
}
