/**
 * Metadata filters (issue 12): a structured filter over each document's metadata fields and its
 * `doc_id`, compiled to a parameterised SQL condition on the document store's `documents` table.
 * User values and JSON paths only ever travel as bound parameters; the SQL text is assembled from
 * fixed fragments, so quotes, comments, `;` or SQL inside a field name or value can only match or
 * fail to match — never run (test/living-filter.test.ts tries them).
 *
 *   filter    := { <field>: <scalar> | <condition>, ..., $and?: [filter...], $or?: [filter...], $not?: filter }
 *                (several keys: all must hold)
 *   condition := { $eq | $ne: scalar, $in | $nin: [scalar...], $gt | $gte | $lt | $lte: number | string, $exists: boolean }
 *   field     := "doc_id" | a metadata path: dot-separated names of [A-Za-z0-9_-] ("year", "venue.name")
 *   scalar    := string | number | boolean | null
 *
 * Types are compared as JSON types: {"year": 2020} matches the number 2020, not the string
 * "2020"; ranges compare numbers with numbers and strings with strings (SQLite's text order).
 * `$ne`/`$nin`/`$not` also match documents without the field (MongoDB's rule).
 * @throws PlaitError INVALID_FILTER naming the bad part (e.g. `filter.year.$gte`).
 */
import { PlaitError, describe } from '../errors/index.js';

export type FilterScalar = string | number | boolean | null;

export interface FilterCondition {
  $eq?: FilterScalar;
  $ne?: FilterScalar;
  $in?: FilterScalar[];
  $nin?: FilterScalar[];
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

/** A compiled filter: a SQL condition over `documents` with `?` placeholders, and their values in order. */
export interface CompiledFilter {
  where: string;
  params: Array<string | number | null>;
}

const FIELD_PART = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const MAX_DEPTH = 32;
const MAX_LIST = 1000;
const MAX_PARAMS = 30_000;

function bad(at: string, message: string, value?: unknown): PlaitError {
  return new PlaitError('INVALID_FILTER', { message: `${at}: ${message}${value === undefined ? '' : ` (received ${describe(value)})`}`, at });
}

/** A field as SQL: the doc_id column, or json_extract/json_type over a JSON path bound as a parameter. */
interface FieldRef {
  value: string;
  type: string | null; // null for doc_id (a TEXT column)
  path: string | null;
}

function fieldRef(name: string, at: string): FieldRef {
  if (name === 'doc_id') return { value: 'doc_id', type: null, path: null };
  const parts = name.split('.');
  if (name.length === 0 || name.length > 256 || !parts.every((p) => FIELD_PART.test(p))) {
    throw bad(at, 'a field is "doc_id" or a metadata path of dot-separated names made of letters, digits, "_" and "-"', name);
  }
  return { value: 'json_extract(metadata, ?)', type: 'json_type(metadata, ?)', path: `$.${parts.map((p) => `"${p}"`).join('.')}` };
}

class Compiler {
  readonly params: Array<string | number | null> = [];

  private push(...v: Array<string | number | null>): void {
    this.params.push(...v);
    if (this.params.length > MAX_PARAMS) throw bad('filter', `too large (more than ${MAX_PARAMS} values)`);
  }

  filter(f: unknown, at: string, depth: number): string {
    if (depth > MAX_DEPTH) throw bad(at, `nested deeper than ${MAX_DEPTH} levels`);
    if (f === null || typeof f !== 'object' || Array.isArray(f)) throw bad(at, 'expected an object of fields and $and/$or/$not', f);
    const keys = Object.keys(f);
    if (keys.length === 0) throw bad(at, 'an empty filter matches nothing in particular; give at least one field or operator');
    const parts = keys.map((key) => {
      const v = (f as Record<string, unknown>)[key];
      const here = `${at}.${key}`;
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(v) || v.length === 0) throw bad(here, 'expected a non-empty array of filters', v);
        return `(${v.map((sub, i) => this.filter(sub, `${here}[${i}]`, depth + 1)).join(key === '$and' ? ' AND ' : ' OR ')})`;
      }
      if (key === '$not') return `(NOT ${this.filter(v, here, depth + 1)})`;
      if (key.startsWith('$')) throw bad(here, 'unknown operator (top level: $and, $or, $not)');
      const ref = fieldRef(key, here);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return this.condition(ref, v as Record<string, unknown>, here);
      return this.equals(ref, v, here);
    });
    return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
  }

  private condition(ref: FieldRef, c: Record<string, unknown>, at: string): string {
    const keys = Object.keys(c);
    if (keys.length === 0) throw bad(at, 'an empty condition; use $eq, $ne, $in, $nin, $gt, $gte, $lt, $lte or $exists');
    const parts = keys.map((op) => {
      const v = c[op];
      const here = `${at}.${op}`;
      switch (op) {
        case '$eq':
          return this.equals(ref, v, here);
        case '$ne':
          return `(NOT ${this.equals(ref, v, here)})`;
        case '$in':
        case '$nin': {
          if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LIST) throw bad(here, `expected a non-empty array of at most ${MAX_LIST} values`, v);
          const any = `(${v.map((x, i) => this.equals(ref, x, `${here}[${i}]`)).join(' OR ')})`;
          return op === '$in' ? any : `(NOT ${any})`;
        }
        case '$gt':
        case '$gte':
        case '$lt':
        case '$lte':
          return this.range(ref, op, v, here);
        case '$exists': {
          if (typeof v !== 'boolean') throw bad(here, 'expected true or false', v);
          if (ref.path === null) return v ? '1' : '0'; // every document has a doc_id
          this.push(ref.path);
          return `(${ref.type} IS ${v ? 'NOT NULL' : 'NULL'})`;
        }
        default:
          throw bad(here, 'unknown operator (conditions: $eq, $ne, $in, $nin, $gt, $gte, $lt, $lte, $exists)');
      }
    });
    return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
  }

  /**
   * Typed equality: a JSON string equals a string, a number a number, true/false a boolean, null a
   * JSON null. Never NULL in SQL (a missing field is false, not unknown), so that NOT — `$ne`,
   * `$nin`, `$not` — matches documents without the field, as MongoDB's rule says.
   */
  private equals(ref: FieldRef, v: unknown, at: string): string {
    return `COALESCE(${this.equalsRaw(ref, v, at)}, 0)`;
  }

  private equalsRaw(ref: FieldRef, v: unknown, at: string): string {
    if (ref.path === null) {
      if (typeof v !== 'string') throw bad(at, 'doc_id is compared with strings', v);
      this.push(v);
      return '(doc_id = ?)';
    }
    if (v === null) {
      this.push(ref.path);
      return `(${ref.type} = 'null')`;
    }
    if (typeof v === 'string') {
      this.push(ref.path, ref.path, v);
      return `(${ref.type} = 'text' AND ${ref.value} = ?)`;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw bad(at, 'expected a finite number', v);
      this.push(ref.path, ref.path, v);
      return `(${ref.type} IN ('integer', 'real') AND ${ref.value} = ?)`;
    }
    if (typeof v === 'boolean') {
      this.push(ref.path);
      return `(${ref.type} = '${v ? 'true' : 'false'}')`;
    }
    throw bad(at, 'expected a string, number, boolean or null (or a condition object)', v);
  }

  /** A range comparison, two-valued like `equals` (a missing field or another JSON type is false). */
  private range(ref: FieldRef, op: '$gt' | '$gte' | '$lt' | '$lte', v: unknown, at: string): string {
    return `COALESCE(${this.rangeRaw(ref, op, v, at)}, 0)`;
  }

  private rangeRaw(ref: FieldRef, op: '$gt' | '$gte' | '$lt' | '$lte', v: unknown, at: string): string {
    const sqlOp = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }[op];
    if (typeof v === 'number' && Number.isFinite(v)) {
      if (ref.path === null) throw bad(at, 'doc_id is compared with strings', v);
      this.push(ref.path, ref.path, v);
      return `(${ref.type} IN ('integer', 'real') AND ${ref.value} ${sqlOp} ?)`;
    }
    if (typeof v === 'string') {
      if (ref.path === null) {
        this.push(v);
        return `(doc_id ${sqlOp} ?)`;
      }
      this.push(ref.path, ref.path, v);
      return `(${ref.type} = 'text' AND ${ref.value} ${sqlOp} ?)`;
    }
    throw bad(at, 'expected a finite number or a string', v);
  }
}

/** Compiles and validates a filter. @throws PlaitError INVALID_FILTER naming the bad part. */
export function compileFilter(filter: unknown): CompiledFilter {
  const c = new Compiler();
  const where = c.filter(filter, 'filter', 0);
  return { where, params: c.params };
}

/** Parses a filter given as JSON text (the CLI's --filter). @throws PlaitError INVALID_FILTER. */
export function parseFilter(json: string): MetadataFilter {
  try {
    return JSON.parse(json) as MetadataFilter;
  } catch (cause) {
    throw new PlaitError('INVALID_FILTER', { message: `filter: not valid JSON (${(cause as Error).message})`, at: 'filter' }, { cause });
  }
}
