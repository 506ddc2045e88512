/**
 * A strict reader of Prometheus' text exposition format 0.0.4 (prometheus.io, "Exposition formats"),
 * as a scraper holds a target to it: every line a `# HELP`, a `# TYPE`, a comment or a sample; each
 * family's HELP and TYPE at most once and before its samples; sample names that belong to their
 * family (a histogram's `_bucket` with `le`, `_sum`, `_count`); label names and escapes as the format
 * allows; no series twice. It throws on the first line at fault, naming it.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string | undefined;
  type: MetricType | undefined;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;

/** The family a sample named `sample` belongs to, given the families declared so far. */
function familyOf(sample: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const own = families.get(sample);
  if (own !== undefined) return own;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (f !== undefined && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

/** `a="x",b="y\"z"` → labels; throws on anything else. */
function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const m = /^([^=]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
    if (m === null || !LABEL_NAME.test(m[1]!)) throw new Error(`bad labels in: ${line}`);
    if (m[1]! in labels) throw new Error(`label ${m[1]} twice in: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
    if (m[3] === '' && rest !== '') throw new Error(`bad labels in: ${line}`);
  }
  return labels;
}

/** Parses the whole text, in order. @throws Error naming the first line that breaks the format. */
export function parseExposition(text: string): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
    if (meta !== null) {
      const [, kind, name, rest = ''] = meta;
      let f = families.get(name!);
      if (f === undefined) families.set(name!, (f = { name: name!, help: undefined, type: undefined, samples: [] }));
      if (f.samples.length > 0) throw new Error(`${kind} after the samples of ${name}: ${line}`);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`HELP twice for ${name}`);
        f.help = rest.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      } else {
        if (f.type !== undefined) throw new Error(`TYPE twice for ${name}`);
        if (!TYPES.includes(rest)) throw new Error(`unknown TYPE ${rest} for ${name}`);
        f.type = rest as MetricType;
      }
      continue;
    }
    if (line === '' || line.startsWith('#')) continue; // empty lines are ignored (the format says so); a comment
    const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`).exec(line);
    if (m === null || !VALUE.test(m[3]!)) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const family = familyOf(m[1]!, families);
    if (family === undefined) throw new Error(`sample ${m[1]} of no declared family`);
    const labels = parseLabels(m[2] ?? '', line);
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`series twice: ${line}`);
    seen.add(key);
    if (m[1]!.endsWith('_bucket') && family.type === 'histogram' && labels['le'] === undefined) throw new Error(`a bucket without le: ${line}`);
    family.samples.push({ name: m[1]!, labels, value: Number(m[3]!.replace('Inf', 'Infinity')) });
  }
  return [...families.values()];
}
