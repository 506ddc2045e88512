/**
 * A `tokenizer.json` for a BERT checkpoint that ships only the slow tokenizer's `vocab.txt`
 * (+ `tokenizer_config.json`), built as transformers' BertConverter (convert_slow_tokenizer.py)
 * builds it: BertNormalizer (clean_text, handle_chinese_chars = tokenize_chinese_chars,
 * strip_accents, lowercase = do_lower_case), BertPreTokenizer, WordPiece (unk_token, "##",
 * 100 chars per word), TemplateProcessing `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B:1 [SEP]:1`, the
 * special tokens as added tokens, WordPiece decoder. BertTokenizer's defaults apply to settings the
 * config leaves out (do_lower_case true, tokenize_chinese_chars true, strip_accents null).
 */
import { PlaitError } from '../../errors/index.js';

function setting<T>(config: Record<string, unknown> | null, key: string, fallback: T, kind: 'boolean' | 'string'): T {
  const v = config?.[key];
  return typeof v === kind ? (v as T) : fallback;
}

/** A special token's text from tokenizer_config.json / special_tokens_map.json (a string or `{ content }`). */
function specialText(maps: (Record<string, unknown> | null)[], key: string, fallback: string): string {
  for (const m of maps) {
    const v = m?.[key];
    if (typeof v === 'string') return v;
    if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  }
  return fallback;
}

/** The tokenizer.json text for `vocabText` (vocab.txt: one token a line, id = line number). */
export function wordpieceTokenizerJson(vocabText: string, tokenizerConfig: Record<string, unknown> | null, specialTokensMap: Record<string, unknown> | null, source: string): string {
  const lines = vocabText.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const vocab: Record<string, number> = {};
  lines.forEach((token, id) => {
    if (!(token in vocab)) vocab[token] = id;
  });
  const maps = [specialTokensMap, tokenizerConfig];
  const specials = {
    unk: specialText(maps, 'unk_token', '[UNK]'),
    cls: specialText(maps, 'cls_token', '[CLS]'),
    sep: specialText(maps, 'sep_token', '[SEP]'),
    pad: specialText(maps, 'pad_token', '[PAD]'),
    mask: specialText(maps, 'mask_token', '[MASK]'),
  };
  for (const t of Object.values(specials)) {
    if (vocab[t] === undefined) throw new PlaitError('MODEL_LOAD_FAILED', { message: `${source} has no ${t} token`, file: source });
  }
  const lowercase = setting(tokenizerConfig, 'do_lower_case', true, 'boolean');
  const stripAccents = setting<boolean | null>(tokenizerConfig, 'strip_accents', null, 'boolean');
  const chinese = setting(tokenizerConfig, 'tokenize_chinese_chars', true, 'boolean');
  const added = [...new Set(Object.values(specials))]
    .map((content) => ({ id: vocab[content]!, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const cls = { id: specials.cls, type_id: 0 };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: chinese, strip_accents: stripAccents, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: cls }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: specials.sep, type_id: 0 } }],
      pair: [
        { SpecialToken: cls },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: specials.sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: specials.sep, type_id: 1 } },
      ],
      special_tokens: {
        [specials.cls]: { id: specials.cls, ids: [vocab[specials.cls]!], tokens: [specials.cls] },
        [specials.sep]: { id: specials.sep, ids: [vocab[specials.sep]!], tokens: [specials.sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: specials.unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  return JSON.stringify(json);
}
