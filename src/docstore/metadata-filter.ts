/**
 * Metadata filters (issues 12, 21): a structured filter over each document's metadata fields and
 * its `doc_id`, compiled to a parameterised SQL condition on the document store's `documents`
 * table. User values and JSON paths only ever travel as bound parameters; the SQL text is assembled
 * from fixed fragments, so quotes, comments, `;` or SQL inside a field name or value can only match
 * or fail to match — never run (test/living-filter.test.ts tries them).
 *
 *   filter    := { <field>: <scalar> | <condition>, ..., $and?: [filter...], $or?: [filter...], $not?: filter }
 *                (several keys: all must hold)
 *   condition := { $eq | $ne: scalar, $in | $nin | $all: [scalar...], $gt | $gte | $lt | $lte: number | string,
 *                  $exists: boolean, $size: integer ≥ 0 }
 *   field     := "doc_id" | a metadata path: names separated by "." ("year", "venue.name", "first author")
 *   scalar    := string | number | boolean | null
 *
 * The rules are MongoDB's wherever it has one:
 *  - types compare as JSON types: {"year": 2020} matches the number 2020, not the string "2020";
 *    ranges compare numbers with numbers and strings with strings (SQLite's text order);
 *  - an array field matches when any element matches ({"tags": "history"} matches
 *    `"tags": ["history", "war"]`; so do $in, $gt…, and $ne / $nin mean "no element"); `$all`
 *    needs every listed value among the elements, `$size` the array's length;
 *  - `$ne` / `$nin` / `$not` also match documents without the field;
 *  - empty lists: `$in: []` matches nothing, `$nin: []` everything, `$all: []` nothing; an empty
 *    `$and` / `$or` is refused (MongoDB: "must be a nonempty array");
 *  - a "." in a field always separates path parts (MongoDB's dot notation): a metadata key that
 *    itself contains a "." cannot be filtered on, as in MongoDB without $getField. Any other
 *    character is allowed in a part (spaces, quotes, non-ASCII) except `"` and control characters
 *    (SQLite's JSON path syntax cannot quote them). Digits in a path name an object key, never an
 *    array position, and a path does not descend into arrays of objects (plait's departures).
 *
 * Size: `$in` / `$nin` / `$all` lists bind as ONE JSON parameter read with `json_each`, and
 * `$and` / `$or` lists (and a filter's several keys) compile to balanced trees, so a 10,000-value
 * list or a 6,000-clause `$or` stays far inside SQLite's SQLITE_MAX_EXPR_DEPTH (1,000) and
 * SQLITE_MAX_VARIABLE_NUMBER (32,766); before, a chain of 1,000 ORs was deeper than SQLite accepts
 * and answered 500. Past CONTRACT_DEFAULTS' list, parameter and depth limits: INVALID_FILTER.
 * @throws PlaitError INVALID_FILTER naming the bad part (e.g. `filter.year.$gte`).
 */
import { CONTRACT_DEFAULTS } from '../config/defaults.js';
import { PlaitError, describe } from '../errors/index.js';

export type FilterScalar = string | number | boolean | null;

export interface FilterCondition {
  $eq?: FilterScalar;
  $ne?: FilterScalar;
  $in?: FilterScalar[];
  $nin?: FilterScalar[];
  $all?: FilterScalar[];
  $size?: number;
  $gt?: number | string;
  $gte?: number | string;
  $lt?: number | string;
  $lte?: number | string;
  $exists?: boolean;
}

/** A metadata filter (see the module header for the grammar). */
export interface MetadataFilter {
  $and?: MetadataFilter[];
  $or?: MetadataFilter[];
  $not?: MetadataFilter;
  [field: string]: FilterScalar | FilterCondition | MetadataFilter | MetadataFilter[] | undefined;
}

type Param = string | number | null;

/** A compiled filter: a SQL condition over `documents` with `?` placeholders, and their values in order. */
export interface CompiledFilter {
  where: string;
  params: Param[];
  /** The filter as given (what metadata-catalogue.ts filterWarnings explains when it matches nothing). */
  source: MetadataFilter;
}

/** A SQL fragment and its parameters, in the order of their placeholders. */
interface Sql {
  sql: string;
  params: Param[];
}

/** Joins literal SQL pieces and fragments in order (a template tag: `q\`a ${frag} b\``). */
function q(strings: TemplateStringsArray, ...parts: (Sql | string)[]): Sql {
  let sql = strings[0]!;
  const params: Param[] = [];
  parts.forEach((p, i) => {
    if (typeof p === 'string') sql += p;
    else {
      sql += p.sql;
      params.push(...p.params);
    }
    sql += strings[i + 1]!;
  });
  return { sql, params };
}

const param = (v: Param): Sql => ({ sql: '?', params: [v] });
const FALSE: Sql = { sql: '0', params: [] };
const TRUE: Sql = { sql: '1', params: [] };

/** `parts` joined by AND / OR as a balanced tree: depth log2(n), not n. */
function balanced(parts: readonly Sql[], op: 'AND' | 'OR'): Sql {
  if (parts.length === 1) return parts[0]!;
  const mid = parts.length >> 1;
  return q`(${balanced(parts.slice(0, mid), op)} ${op} ${balanced(parts.slice(mid), op)})`;
}

/**
 * doc_id is the TEXT column of the user's ids: a number id of the corpus (`{"_id": 5}`, HTTP's
 * `{"doc_id": 5}`) is stored as "5", so an integer compared with doc_id for equality ($eq, $ne,
 * $in, $nin, a bare value) is its decimal text as every write door reads it (`docIdValue`). A
 * fraction, an integer past 2^53 and any range with a number stay refused: they name no one id,
 * and doc_id orders as text ("10" < "5").
 */
const DOC_ID_STRINGS = 'doc_id is compared with ids: strings, or integers read as their decimal text (5 is the id "5"), as the writes read them';
const DOC_ID_RANGE = 'doc_id is ordered as text ("10" < "5"): compare it with a string';

/** An equality value for doc_id: a safe integer as its decimal text (util/json-number-text.ts idText), anything else as given. */
function docIdValue(v: unknown): unknown {
  return typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
}

function bad(at: string, message: string, value?: unknown): PlaitError {
  return new PlaitError('INVALID_FILTER', { message: `${at}: ${message}${value === undefined ? '' : ` (received ${describe(value)})`}`, at });
}

/** A field: the doc_id column, or a metadata JSON path (bound as a parameter wherever it is used). */
type FieldRef = { path: null } | { path: string };

// eslint-disable-next-line no-control-regex
const BAD_PART = /["\u0000-\u001f\u007f]/;

function fieldRef(name: string, at: string): FieldRef {
  if (name === 'doc_id') return { path: null };
  const parts = name.split('.');
  if (name.length === 0 || name.length > 256 || parts.some((p) => p.length === 0 || BAD_PART.test(p))) {
    throw bad(at, 'a field is "doc_id" or a metadata path: non-empty names separated by "." (no double quote or control character in a name)', name);
  }
  return { path: `$.${parts.map((p) => `"${p}"`).join('.')}` };
}

/** The scalars of a list, by JSON type (what a typed membership test needs). */
interface TypedSet {
  strings: string[];
  numbers: number[];
  literals: ('true' | 'false' | 'null')[];
}

function typedSet(values: readonly unknown[], at: string): TypedSet {
  const set: TypedSet = { strings: [], numbers: [], literals: [] };
  values.forEach((v, i) => {
    const here = `${at}[${i}]`;
    if (typeof v === 'string') set.strings.push(v);
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw bad(here, 'expected a finite number', v);
      set.numbers.push(v);
    } else if (typeof v === 'boolean' || v === null) {
      const lit = v === null ? 'null' : v ? 'true' : 'false';
      if (!set.literals.includes(lit)) set.literals.push(lit);
    } else throw bad(here, 'expected a string, number, boolean or null', v);
  });
  return set;
}

/**
 * A test on one JSON value, by its JSON type: for each arm, the types it applies to and the
 * predicate on the value (SQLite's value: text, a number, 1/0 for true/false). Values of other
 * types fail it. Compiled two ways: a CASE on a field's json_type (one json_type and one
 * json_extract per row) and an OR over json_each's `type`/`value` columns (array elements).
 */
type Arm = { types: readonly string[]; when: (value: Sql) => Sql };

/** Membership in `set`, as arms. */
function memberArms(set: TypedSet): Arm[] {
  const list = (xs: readonly (string | number)[]) => (v: Sql): Sql => (xs.length === 1 ? q`${v} = ${param(xs[0]!)}` : q`${v} IN (SELECT value FROM json_each(${param(JSON.stringify(xs))}))`);
  const arms: Arm[] = [];
  if (set.strings.length > 0) arms.push({ types: ['text'], when: list(set.strings) });
  if (set.numbers.length > 0) arms.push({ types: ['integer', 'real'], when: list(set.numbers) });
  if (set.literals.length > 0) arms.push({ types: set.literals, when: () => TRUE });
  return arms;
}

/** The arms over json_each's columns `e.type` / `e.value`, OR-ed (never NULL). */
function elementTest(arms: readonly Arm[]): Sql {
  const value: Sql = { sql: 'e.value', params: [] };
  const parts = arms.map((arm) => {
    const types = arm.types.length === 1 ? `e.type = '${arm.types[0]}'` : `e.type IN (${arm.types.map((t) => `'${t}'`).join(', ')})`;
    const when = arm.when(value);
    return when === TRUE ? { sql: types, params: [] } : q`(${types} AND ${when})`;
  });
  return parts.length === 0 ? FALSE : balanced(parts, 'OR');
}

class Compiler {
  private params = 0;

  /** Counts a fragment's parameters against the limit. */
  private count(s: Sql, at: string): Sql {
    this.params += s.params.length;
    if (this.params > CONTRACT_DEFAULTS.maxFilterParams) throw bad(at, `too large: more than ${CONTRACT_DEFAULTS.maxFilterParams} bound values (use $in with one list instead of many $or clauses)`);
    return s;
  }

  filter(f: unknown, at: string, depth: number): Sql {
    if (depth > CONTRACT_DEFAULTS.maxFilterDepth) throw bad(at, `nested deeper than ${CONTRACT_DEFAULTS.maxFilterDepth} levels`);
    if (f === null || typeof f !== 'object' || Array.isArray(f)) throw bad(at, 'expected an object of fields and $and/$or/$not', f);
    const keys = Object.keys(f);
    if (keys.length === 0) throw bad(at, 'an empty filter matches nothing in particular; give at least one field or operator');
    const parts = keys.map((key): Sql => {
      const v = (f as Record<string, unknown>)[key];
      const here = `${at}.${key}`;
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(v) || v.length === 0) throw bad(here, 'expected a non-empty array of filters (MongoDB refuses an empty one too)', v);
        return balanced(
          v.map((sub, i) => this.filter(sub, `${here}[${i}]`, depth + 1)),
          key === '$and' ? 'AND' : 'OR',
        );
      }
      if (key === '$not') return q`(NOT ${this.filter(v, here, depth + 1)})`;
      if (key.startsWith('$')) throw bad(here, 'unknown operator (top level: $and, $or, $not)');
      const ref = fieldRef(key, here);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return this.condition(ref, v as Record<string, unknown>, here);
      const value = ref.path === null ? docIdValue(v) : v;
      return this.count(this.anyElement(ref, memberArms(typedSet([value], here)), here, value), here);
    });
    return balanced(parts, 'AND');
  }

  private condition(ref: FieldRef, c: Record<string, unknown>, at: string): Sql {
    const keys = Object.keys(c);
    if (keys.length === 0) throw bad(at, 'an empty condition; use $eq, $ne, $in, $nin, $all, $size, $gt, $gte, $lt, $lte or $exists');
    const parts = keys.map((op): Sql => {
      const v = c[op];
      const here = `${at}.${op}`;
      const sql = ((): Sql => {
        switch (op) {
          case '$eq':
          case '$ne': {
            const value = ref.path === null ? docIdValue(v) : v;
            const eq = this.anyElement(ref, memberArms(typedSet([value], here)), here, value);
            return op === '$eq' ? eq : q`(NOT ${eq})`;
          }
          case '$in':
          case '$nin': {
            const listed = this.list(v, here);
            const values = ref.path === null ? listed.map(docIdValue) : listed;
            const set = typedSet(values, here);
            if (ref.path === null && set.numbers.length + set.literals.length > 0) {
              // Name the element at fault, not the list ("received an array of length 3").
              const i = values.findIndex((x) => typeof x !== 'string');
              throw bad(`${here}[${i}]`, DOC_ID_STRINGS, values[i]);
            }
            const any = this.anyElement(ref, memberArms(set), here, '');
            return op === '$in' ? any : q`(NOT ${any})`;
          }
          case '$all':
            return this.all(ref, typedSet(this.list(v, here), here), here);
          case '$size': {
            if (!(Number.isInteger(v) && (v as number) >= 0)) throw bad(here, 'expected a non-negative integer', v);
            if (ref.path === null) throw bad(here, 'doc_id is a string, not an array', v);
            const path = param(ref.path);
            return q`COALESCE(json_type(metadata, ${path}) = 'array' AND json_array_length(metadata, ${path}) = ${param(v as number)}, 0)`;
          }
          case '$gt':
          case '$gte':
          case '$lt':
          case '$lte':
            return this.range(ref, op, v, here);
          case '$exists': {
            if (typeof v !== 'boolean') throw bad(here, 'expected true or false', v);
            if (ref.path === null) return v ? TRUE : FALSE; // every document has a doc_id
            return q`(json_type(metadata, ${param(ref.path)}) IS ${v ? 'NOT NULL' : 'NULL'})`;
          }
          default:
            throw bad(here, 'unknown operator (conditions: $eq, $ne, $in, $nin, $all, $size, $gt, $gte, $lt, $lte, $exists)');
        }
      })();
      return this.count(sql, here);
    });
    return balanced(parts, 'AND');
  }

  private list(v: unknown, at: string): unknown[] {
    if (!Array.isArray(v) || v.length > CONTRACT_DEFAULTS.maxFilterList) throw bad(at, `expected an array of at most ${CONTRACT_DEFAULTS.maxFilterList} values`, v);
    return v;
  }

  /**
   * The arms hold for the field's value, or for any element when the field is an array (MongoDB):
   * `CASE json_type(path) WHEN 'array' THEN EXISTS (… json_each …) WHEN <type> THEN <predicate on
   * json_extract(path)> … ELSE 0 END`, so a scalar row costs one json_type and one json_extract.
   * Two-valued (a missing field is false, never NULL), so NOT — $ne, $nin, $not — matches
   * documents without the field. doc_id (a TEXT column) is compared with strings only.
   */
  private anyElement(ref: FieldRef, arms: readonly Arm[], at: string, sample: unknown): Sql {
    if (ref.path === null) {
      if (typeof sample !== 'string') throw bad(at, DOC_ID_STRINGS, sample);
      const text = arms.find((a) => a.types.includes('text'));
      return text === undefined ? FALSE : q`COALESCE(${text.when({ sql: 'doc_id', params: [] })}, 0)`;
    }
    if (arms.length === 0) return FALSE;
    const path = param(ref.path);
    const whens = arms.flatMap((arm) => arm.types.map((t) => q` WHEN '${t}' THEN ${arm.when(q`json_extract(metadata, ${path})`)}`));
    return q`COALESCE(CASE json_type(metadata, ${path}) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(metadata, ${path}) AS e WHERE ${elementTest(arms)})${whens.reduce((acc, w) => q`${acc}${w}`, { sql: '', params: [] })} ELSE 0 END, 0)`;
  }

  /** Every value of `set` is the field's value or one of its elements ($all; an empty list matches nothing, as in MongoDB). */
  private all(ref: FieldRef, set: TypedSet, at: string): Sql {
    if (ref.path === null) throw bad(at, 'doc_id is a string, not an array; use $eq or $in');
    const values = [...set.strings, ...set.numbers, ...set.literals.map((l) => (l === 'null' ? null : l === 'true'))];
    if (values.length === 0) return FALSE;
    const path = param(ref.path);
    const same = `((e.type IN ('integer', 'real') AND l.type IN ('integer', 'real') AND e.value = l.value) OR (e.type = l.type AND e.type IN ('text', 'true', 'false', 'null') AND (e.type != 'text' OR e.value = l.value)))`;
    return q`COALESCE(json_type(metadata, ${path}) NOT IN ('object') AND NOT EXISTS (SELECT 1 FROM json_each(${param(JSON.stringify(values))}) AS l WHERE NOT EXISTS (SELECT 1 FROM json_each(metadata, ${path}) AS e WHERE ${same})), 0)`;
  }

  /** A range comparison of numbers with numbers or strings with strings (any element of an array field). */
  private range(ref: FieldRef, op: '$gt' | '$gte' | '$lt' | '$lte', v: unknown, at: string): Sql {
    const sqlOp = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }[op];
    if (typeof v === 'number' && Number.isFinite(v)) {
      if (ref.path === null) throw bad(at, DOC_ID_RANGE, v);
      return this.anyElement(ref, [{ types: ['integer', 'real'], when: (x) => q`${x} ${sqlOp} ${param(v)}` }], at, v);
    }
    if (typeof v === 'string') return this.anyElement(ref, [{ types: ['text'], when: (x) => q`${x} ${sqlOp} ${param(v)}` }], at, v);
    throw bad(at, 'expected a finite number or a string', v);
  }
}

/** Compiles and validates a filter. @throws PlaitError INVALID_FILTER naming the bad part. */
export function compileFilter(filter: unknown): CompiledFilter {
  const { sql, params } = new Compiler().filter(filter, 'filter', 0);
  return { where: sql, params, source: filter as MetadataFilter };
}

/** Parses a filter given as JSON text (the CLI's --filter). @throws PlaitError INVALID_FILTER. */
export function parseFilter(json: string): MetadataFilter {
  try {
    return JSON.parse(json) as MetadataFilter;
  } catch (cause) {
    throw new PlaitError('INVALID_FILTER', { message: `filter: not valid JSON (${(cause as Error).message})`, at: 'filter' }, { cause });
  }
}
