/**
 * The metadata field catalogue: every field path the live documents' metadata holds, with the JSON
 * types stored there (an array field's elements too, since a filter matches elements), and why a
 * filter that matched no document did: a field no document has (`{"metadata.year": 1955}`: paths
 * are relative to the metadata; `{"yeer": …}`: a typo), or a value whose JSON type differs from
 * every stored value of its field (`{"year": 1962}` where "1962" is stored: types compare as JSON
 * types, as in MongoDB). The search result carries these as warnings with stable codes
 * (FILTER_FIELD_UNKNOWN, FILTER_TYPE_MISMATCH); the filter's own semantics do not change.
 *
 * A field whose live documents hold several scalar JSON types (strings "1962" and numbers 1962)
 * answers a comparison with the values of one type: FILTER_TYPE_MIXED says so on every such
 * search, hits or not (mixedFilterWarnings).
 *
 * Cost: readFieldCatalogue, one SQLite pass of json_tree over every document's metadata, took
 * 426 ms on 117,791 documents (wordnet-scale's corpus with 4 synthetic metadata fields each), 6.2×
 * one compiled filter's full scan (69 ms) — too dear for every filtered search, so it had been read
 * only when a filter matched nothing. The catalogue now comes from the store's per-field per-type
 * document counts (metadata-types.ts, `catalogueOf`), kept by each write: 0.08 ms to read
 * (bench/metadata-catalogue.ts; bench/RESULTS.md, "Metadata type counts"), cached per document
 * store, i.e. per index generation. readFieldCatalogue stays as the counts' oracle in tests and benches.
 */
import type Database from 'better-sqlite3';
import { closestKey } from '../util/option-keys.js';
import type { MetadataFilter } from './metadata-filter.js';
import { scalarTypes, type FieldTypeCounts } from './metadata-types.js';

/** A filter value's JSON type, as a client writes it. */
export type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

/** Each field path (dotted, as filters name it) → the JSON types stored there, array elements' included. */
export type FieldCatalogue = ReadonlyMap<string, ReadonlySet<JsonType>>;

const SQLITE_TYPE: Readonly<Record<string, JsonType>> = { text: 'string', integer: 'number', real: 'number', true: 'boolean', false: 'boolean', null: 'null', array: 'array', object: 'object' };

/**
 * Reads the catalogue of the store's live documents. A path inside an array's elements (an array of
 * objects) is left out: filters do not descend into arrays of objects (metadata-filter.ts).
 * @throws whatever better-sqlite3 throws (the caller wraps it as DOCSTORE_FAILED).
 */
export function readFieldCatalogue(db: Database.Database): FieldCatalogue {
  // An array's element rows have an integer key and the array's own path: they count as the array field's types.
  const rows = db
    .prepare(
      `SELECT DISTINCT CASE WHEN typeof(j.key) = 'integer' THEN j.path ELSE j.fullkey END AS field, j.type AS type
       FROM documents, json_tree(documents.metadata) AS j
       WHERE documents.metadata IS NOT NULL AND json_valid(documents.metadata) AND j.fullkey != '$' AND instr(j.path, '[') = 0`,
    )
    .all() as { field: string; type: string }[];
  const out = new Map<string, Set<JsonType>>();
  for (const r of rows) {
    const name = dottedField(r.field);
    if (name === null) continue;
    const t = SQLITE_TYPE[r.type];
    if (t === undefined) continue;
    let set = out.get(name);
    if (set === undefined) out.set(name, (set = new Set()));
    set.add(t);
  }
  return out;
}

/** The catalogue of a store's metadata type counts (metadata-types.ts): each field's types with a document. */
export function catalogueOf(counts: FieldTypeCounts): FieldCatalogue {
  return new Map([...counts].map(([field, m]) => [field, new Set([...m].filter(([, n]) => n > 0).map(([t]) => t))]));
}

/** SQLite's JSON path (`$.venue.name`, `$."first author"`) as a filter names it (`venue.name`, `first author`); null for a path a filter cannot name. */
function dottedField(path: string): string | null {
  if (!path.startsWith('$')) return null;
  const parts: string[] = [];
  let i = 1;
  while (i < path.length) {
    if (path[i] !== '.') return null;
    i++;
    if (path[i] === '"') {
      const end = path.indexOf('"', i + 1);
      if (end < 0) return null;
      parts.push(path.slice(i + 1, end));
      i = end + 1;
    } else {
      let end = i;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      parts.push(path.slice(i, end));
      i = end;
    }
  }
  // A key holding "." cannot be filtered on (dot notation): not offered as a field.
  return parts.length === 0 || parts.some((p) => p.includes('.')) ? null : parts.join('.');
}

/**
 * FILTER_FIELD_UNKNOWN: a field no live document has; FILTER_TYPE_MISMATCH: a value of a JSON type
 * no stored value of its field has; FILTER_NO_MATCH: the filter matched no live document though its
 * fields and value types exist (the values, or their combination, are not there).
 */
export type FilterWarningCode = 'FILTER_FIELD_UNKNOWN' | 'FILTER_TYPE_MISMATCH' | 'FILTER_NO_MATCH' | 'FILTER_TYPE_MIXED';

/** Why a filter matched nothing, for the search result (library camelCase; HTTP snake_case). */
export interface FilterWarning {
  code: FilterWarningCode;
  /** The filter's field, as given (absent for FILTER_NO_MATCH). */
  field?: string;
  /** Where in the filter (e.g. `filter.$or[1].year.$in[0]`). */
  at: string;
  /** FILTER_FIELD_UNKNOWN: the nearest field the documents have (a typo, or `metadata.` left on the path), when one is near. */
  suggestion?: string;
  /** FILTER_TYPE_MISMATCH: the value's JSON type and the types stored in the field. */
  askedType?: JsonType;
  storedTypes?: JsonType[];
  /** FILTER_TYPE_MIXED: each scalar type the field holds and how many live documents hold it. */
  storedCounts?: Array<{ type: JsonType; documents: number }>;
  message: string;
}

function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'string' ? 'string' : t === 'number' ? 'number' : t === 'boolean' ? 'boolean' : 'object';
}

const article = (t: JsonType): string => (t === 'array' || t === 'object' ? `an ${t}` : `a ${t}`);

/**
 * The reasons a filter (already compiled, so well-formed) can match nothing, against `catalogue`:
 * each field that must be present to match (a bare value, $eq, $in, $all, $gt…, $size,
 * `$exists: true`) and that no document has, and each such value whose type no stored value of its
 * field has. Fields under $not, and $ne / $nin / `$exists: false` (which match documents without
 * the field) are not checked; neither is doc_id. One warning per field and code.
 */
export function filterWarnings(filter: MetadataFilter, catalogue: FieldCatalogue): FilterWarning[] {
  const out: FilterWarning[] = [];
  const seen = new Set<string>();
  const fields = [...catalogue.keys()];
  const add = (w: FilterWarning): void => {
    const key = `${w.code}\u0000${w.field}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(w);
  };
  const checkValue = (field: string, at: string, value: unknown): void => {
    const stored = catalogue.get(field);
    if (stored === undefined) return;
    const asked = jsonType(value);
    if (asked === 'array' || asked === 'object') return;
    const types = [...stored].filter((t) => t !== 'array' && t !== 'object');
    if (types.length === 0 || types.includes(asked)) return;
    const example = asked === 'number' && types.includes('string') ? ` (write it as "${String(value)}")` : asked === 'string' && types.includes('number') && value !== '' && Number.isFinite(Number(value)) ? ` (write it as ${Number(value)})` : '';
    add({
      code: 'FILTER_TYPE_MISMATCH',
      field,
      at,
      askedType: asked,
      storedTypes: types.sort(),
      message: `filter field "${field}" is given ${article(asked)} (${JSON.stringify(value)}) but every stored value of it is ${types.map(article).join(' or ')}: types compare as JSON types, so it matches no document${example}`,
    });
  };
  forEachFieldCondition(filter, (key, here, v) => {
    const ops = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { $eq: v };
    const needsField = Object.entries(ops).some(([op, x]) => op !== '$ne' && op !== '$nin' && !(op === '$exists' && x === false));
    if (!needsField) return;
    if (!catalogue.has(key)) {
      const stripped = key.startsWith('metadata.') ? key.slice('metadata.'.length) : null;
      const suggestion = stripped !== null && catalogue.has(stripped) ? stripped : closestKey(key, fields);
      add({
        code: 'FILTER_FIELD_UNKNOWN',
        field: key,
        at: here,
        ...(suggestion === undefined ? {} : { suggestion }),
        message:
          `filter field "${key}": no document has it` +
          (suggestion !== undefined ? `; did you mean "${suggestion}"?${stripped === suggestion ? ' (filter paths start inside the metadata)' : ''}` : fields.length === 0 ? ' (no document has metadata)' : ` (fields: ${fields.slice(0, 12).join(', ')}${fields.length > 12 ? ', …' : ''})`),
      });
      return;
    }
    for (const [op, x] of Object.entries(ops)) {
      const opAt = ops === v ? `${here}.${op}` : here;
      if (op === '$eq' || op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') checkValue(key, opAt, x);
      else if ((op === '$in' || op === '$all') && Array.isArray(x) && x.length > 0) {
        // A list fails only when no value of it can match: every value's type is missing from the field.
        const stored = catalogue.get(key)!;
        const fits = x.some((y) => stored.has(jsonType(y)) || jsonType(y) === 'array' || jsonType(y) === 'object');
        if (!fits && op === '$in') checkValue(key, `${opAt}[0]`, x[0]);
        if (op === '$all') x.forEach((y, i) => checkValue(key, `${opAt}[${i}]`, y));
      }
    }
  });
  return out;
}

/**
 * A cluster's reasons (src/cluster/): each shard explains its own documents, so a reason holds for
 * the corpus when every shard gives it (same code and field; the stored types of all); null when
 * some shard's filter matched documents (or a shard gave no reasons), else FILTER_NO_MATCH when the
 * shards' reasons differ (a field one shard lacks and another holds with another type).
 */
export function commonWarnings(shardWarnings: readonly (readonly FilterWarning[] | undefined)[]): FilterWarning[] | null {
  // FILTER_TYPE_MIXED is no reason for matching nothing: clusterMixedWarnings says it over the corpus.
  const perShard = shardWarnings.map((w) => w?.filter((x) => x.code !== 'FILTER_TYPE_MIXED'));
  if (perShard.length === 0 || perShard.some((w) => w === undefined || w.length === 0)) return null;
  const lists = perShard as readonly (readonly FilterWarning[])[];
  const key = (w: FilterWarning): string => `${w.code}\u0000${w.field ?? ''}`;
  const common = lists[0]!.filter((w) => w.code !== 'FILTER_NO_MATCH' && lists.every((l) => l.some((x) => key(x) === key(w))));
  if (common.length === 0) return [{ code: 'FILTER_NO_MATCH', at: 'filter', message: 'no live document passes the filter (its fields exist with values of the types asked; no document holds the values asked)' }];
  return common.map((w) => {
    if (w.storedTypes === undefined) return w;
    const types = [...new Set(lists.flatMap((l) => l.filter((x) => key(x) === key(w)).flatMap((x) => x.storedTypes ?? [])))].sort();
    return { ...w, storedTypes: types };
  });
}

const PLURAL: Readonly<Record<string, string>> = { string: 'strings', number: 'numbers', boolean: 'booleans' };

/**
 * FILTER_TYPE_MIXED: each comparison of the filter ($gt, $gte, $lt, $lte, $eq or a bare value, and
 * $in whose values are all of one type) on a field whose live documents hold values of several
 * scalar JSON types (string, number, boolean), the value's type among them — it compares the values
 * of its own type only, whether or not it matched documents (`{"year": {"$gte": 1960}}` over
 * "1962" strings and 1962 numbers). Read from the store's type counts (metadata-types.ts), so cheap
 * enough for every filtered search. Fields under $not and doc_id are not checked; one warning a field.
 */
export function mixedFilterWarnings(filter: MetadataFilter, counts: FieldTypeCounts): FilterWarning[] {
  const out: FilterWarning[] = [];
  const seen = new Set<string>();
  const check = (field: string, at: string, value: unknown): void => {
    if (seen.has(field)) return;
    const m = counts.get(field);
    const types = scalarTypes(m);
    const asked = jsonType(value);
    if (types.length < 2 || !types.includes(asked)) return;
    seen.add(field);
    const storedCounts = types.map((type) => ({ type, documents: m!.get(type)! }));
    const others = types.filter((t) => t !== asked).map((t) => PLURAL[t]).join(' and ');
    out.push({
      code: 'FILTER_TYPE_MIXED',
      field,
      at,
      askedType: asked,
      storedTypes: [...types].sort(),
      storedCounts,
      message:
        `filter field "${field}" holds ${storedCounts.map((c) => `${PLURAL[c.type]} in ${c.documents} document${c.documents === 1 ? '' : 's'}`).join(' and ')}: ` +
        `this filter compares ${PLURAL[asked]} only (types compare as JSON types; the ${others} never match it); store the field as one type (a CSV column "${field}:number"), or filter on each type with $or`,
    });
  };
  forEachComparison(filter, check);
  return out;
}

/**
 * Calls `visit(field, at, value)` for each comparison of `filter` that mixedFilterWarnings checks:
 * $eq (or a bare value), $gt, $gte, $lt, $lte, and $in whose values are all of one JSON type (its
 * first value); through $and and $or, not $not; doc_id is not metadata.
 */
function forEachComparison(filter: unknown, visit: (field: string, at: string, value: unknown) => void): void {
  forEachFieldCondition(filter, (key, here, v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      visit(key, here, v);
      return;
    }
    for (const [op, x] of Object.entries(v as Record<string, unknown>)) {
      if (op === '$eq' || op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') visit(key, `${here}.${op}`, x);
      else if (op === '$in' && Array.isArray(x) && x.length > 0 && x.every((y) => jsonType(y) === jsonType(x[0]))) visit(key, `${here}.${op}`, x[0]);
    }
  });
}

/**
 * Calls `visit(field, at, condition)` for each metadata field's condition in `filter` (a bare value
 * or an operator object), through $and and $or, not $not (whose fields match documents without
 * them); doc_id is not metadata. `at` is the condition's path in the filter (`filter.$or[1].year`).
 */
function forEachFieldCondition(filter: unknown, visit: (field: string, at: string, condition: unknown) => void): void {
  const walk = (f: unknown, at: string): void => {
    if (f === null || typeof f !== 'object' || Array.isArray(f)) return;
    for (const [key, v] of Object.entries(f as Record<string, unknown>)) {
      const here = `${at}.${key}`;
      if (key === '$and' || key === '$or') {
        if (Array.isArray(v)) v.forEach((sub, i) => walk(sub, `${here}[${i}]`));
        continue;
      }
      if (key.startsWith('$') || key === 'doc_id') continue;
      visit(key, here, v);
    }
  };
  walk(filter, 'filter');
}

/**
 * A shard's type counts of the fields its query's filter compares (cluster/shard-protocol.ts
 * `filterTypes`), as JSON: [field, [[type, documents], …]], …
 */
export type WireFieldTypes = Array<[string, Array<[JsonType, number]>]>;

/** The counts of the fields `filter` compares (forEachComparison), for the wire. */
export function comparedFieldTypes(filter: MetadataFilter, counts: FieldTypeCounts): WireFieldTypes {
  const fields = new Set<string>();
  forEachComparison(filter, (field) => fields.add(field));
  return [...fields].flatMap((f): WireFieldTypes => {
    const m = counts.get(f);
    return m === undefined ? [] : [[f, [...m]]];
  });
}

/**
 * A cluster's FILTER_TYPE_MIXED: over the corpus, the shards' counts summed (a field of strings on
 * one shard and numbers on another is mixed too). When a shard sent no counts (a replica predating
 * them), the shards' own FILTER_TYPE_MIXED warnings, one a field.
 */
export function clusterMixedWarnings(filter: MetadataFilter | undefined, perShard: readonly { filterWarnings?: FilterWarning[]; filterTypes?: WireFieldTypes }[]): FilterWarning[] {
  if (filter === undefined || perShard.length === 0) return [];
  if (perShard.every((p) => p.filterTypes !== undefined)) {
    const sum = new Map<string, Map<JsonType, number>>();
    for (const p of perShard) {
      for (const [field, types] of p.filterTypes!) {
        let m = sum.get(field);
        if (m === undefined) sum.set(field, (m = new Map()));
        for (const [t, n] of types) m.set(t, (m.get(t) ?? 0) + n);
      }
    }
    return mixedFilterWarnings(filter, sum);
  }
  const seen = new Set<string>();
  return perShard.flatMap((p) => p.filterWarnings ?? []).filter((w) => w.code === 'FILTER_TYPE_MIXED' && !seen.has(w.field!) && seen.add(w.field!) !== undefined);
}

/**
 * Why a filter that matched no live document did: filterWarnings' reasons, else one
 * FILTER_NO_MATCH (fields and types exist; the values asked are not stored together).
 */
export function noMatchWarnings(filter: MetadataFilter, catalogue: FieldCatalogue): FilterWarning[] {
  const reasons = filterWarnings(filter, catalogue);
  if (reasons.length > 0) return reasons;
  return [{ code: 'FILTER_NO_MATCH', at: 'filter', message: 'no live document passes the filter (its fields exist with values of the types asked; no document holds the values asked)' }];
}
