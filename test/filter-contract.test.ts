/**
 * Metadata filters against SQLite's limits and MongoDB's rules (issue 21): a differential test of
 * the compiled SQL against a JavaScript oracle of the documented semantics (array fields match on
 * any element, $all, $size, empty lists, keys with spaces), hand-checked cases, and lists and
 * $or chains at and past the limits — SQLITE_MAX_EXPR_DEPTH (1,000) and SQLITE_MAX_VARIABLE_NUMBER
 * (32,766) — where the answer must be rows or INVALID_FILTER, never a SQLite error.
 */
import Database from 'better-sqlite3';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from '../src/docstore/metadata-filter.js';
import { CONTRACT_DEFAULTS } from '../src/config/defaults.js';
import { isPlaitError } from '../src/errors/index.js';
import { Random } from '../src/util/random.js';

type Meta = Record<string, unknown> | null;

function table(docs: Meta[]): { ids: (f: unknown) => number[]; close: () => void } {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE documents (doc_rowid INTEGER PRIMARY KEY, doc_id TEXT, metadata TEXT)');
  const ins = db.prepare('INSERT INTO documents VALUES (?, ?, ?)');
  docs.forEach((m, i) => ins.run(i, `d${i}`, m === null ? null : JSON.stringify(m)));
  return {
    ids: (f) => {
      const c = compileFilter(f);
      return db.prepare(`SELECT doc_rowid FROM documents WHERE ${c.where} ORDER BY doc_rowid`).pluck().all(...c.params) as number[];
    },
    close: () => db.close(),
  };
}

// ---- the oracle: the module header's rules, written plainly ----

function lookup(m: Meta, field: string): unknown {
  let v: unknown = m;
  for (const part of field.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const same = (a: unknown, b: unknown): boolean => a === b && (typeof a !== 'number' || Number.isFinite(a));
const values = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || (typeof v === 'object' && v !== null) ? [] : [v]);
const anyOf = (v: unknown, test: (x: unknown) => boolean): boolean => values(v).some(test);

function matches(m: Meta, id: string, f: Record<string, unknown>): boolean {
  return Object.entries(f).every(([key, cond]) => {
    if (key === '$and') return (cond as Record<string, unknown>[]).every((g) => matches(m, id, g));
    if (key === '$or') return (cond as Record<string, unknown>[]).some((g) => matches(m, id, g));
    if (key === '$not') return !matches(m, id, cond as Record<string, unknown>);
    const v = key === 'doc_id' ? id : lookup(m, key);
    if (cond === null || typeof cond !== 'object') return anyOf(v, (x) => same(x, cond));
    return Object.entries(cond).every(([op, arg]) => {
      switch (op) {
        case '$eq':
          return anyOf(v, (x) => same(x, arg));
        case '$ne':
          return !anyOf(v, (x) => same(x, arg));
        case '$in':
          return anyOf(v, (x) => (arg as unknown[]).some((a) => same(x, a)));
        case '$nin':
          return !anyOf(v, (x) => (arg as unknown[]).some((a) => same(x, a)));
        case '$all':
          return (arg as unknown[]).length > 0 && (arg as unknown[]).every((a) => anyOf(v, (x) => same(x, a)));
        case '$size':
          return Array.isArray(v) && v.length === arg;
        case '$exists':
          return (v !== undefined) === arg;
        case '$gt':
          return anyOf(v, (x) => typeof x === typeof arg && (x as number) > (arg as number));
        case '$lt':
          return anyOf(v, (x) => typeof x === typeof arg && (x as number) < (arg as number));
        default:
          throw new Error(`oracle: ${op}`);
      }
    });
  });
}

function randomDoc(rng: Random): Meta {
  if (rng.int(12) === 0) return null;
  const m: Record<string, unknown> = {};
  const scalar = (): unknown => [1, 2, 3, 'a', 'b', 'c', true, false, null, 2.5][rng.int(10)];
  if (rng.int(4) > 0) m.tags = rng.int(3) === 0 ? scalar() : Array.from({ length: rng.int(4) }, scalar);
  if (rng.int(3) > 0) m.year = rng.int(2) === 0 ? 2018 + rng.int(5) : String(2018 + rng.int(5));
  if (rng.int(3) === 0) m['first author'] = ['Ann', 'Bo', 'Cy'][rng.int(3)];
  if (rng.int(3) === 0) m.venue = { name: ['SIGIR', 'ECIR'][rng.int(2)], tags: ['a', 'b'].slice(0, rng.int(3)) };
  return m;
}

function randomFilter(rng: Random, depth = 0): Record<string, unknown> {
  const field = ['tags', 'year', 'first author', 'venue.name', 'venue.tags', 'doc_id', 'missing'][rng.int(7)]!;
  const scalar = (): unknown => (field === 'doc_id' ? `d${rng.int(40)}` : [1, 2, 3, 'a', 'b', true, false, null, 2018, 2020, '2020', 'Ann', 'SIGIR'][rng.int(13)]);
  const list = (): unknown[] => Array.from({ length: rng.int(4) }, scalar);
  if (depth < 3 && rng.int(5) === 0) {
    const op = ['$and', '$or', '$not'][rng.int(3)]!;
    return op === '$not' ? { $not: randomFilter(rng, depth + 1) } : { [op]: Array.from({ length: 1 + rng.int(3) }, () => randomFilter(rng, depth + 1)) };
  }
  const ops: [string, () => unknown][] = [
    ['$eq', scalar],
    ['$ne', scalar],
    ['$in', list],
    ['$nin', list],
    ['$exists', () => rng.int(2) === 0],
  ];
  if (field !== 'doc_id') ops.push(['$all', list], ['$size', () => rng.int(4)], ['$gt', () => [2, 'b', 2019][rng.int(3)]], ['$lt', () => [2, 'b', 2021][rng.int(3)]]);
  if (rng.int(4) === 0) return { [field]: scalar() };
  const [op, arg] = ops[rng.int(ops.length)]!;
  return { [field]: { [op]: arg() } };
}

test('differential: 600 random filters over 40 random documents agree with the oracle of the documented rules', () => {
  const rng = new Random(21);
  const docs = Array.from({ length: 40 }, () => randomDoc(rng));
  const t = table(docs);
  try {
    for (let i = 0; i < 600; i++) {
      const f = randomFilter(rng);
      const want = docs.flatMap((m, j) => (matches(m, `d${j}`, f) ? [j] : []));
      assert.deepEqual(t.ids(f), want, JSON.stringify(f));
    }
  } finally {
    t.close();
  }
});

test('array fields, $all, $size, empty lists, keys with spaces and dots: hand-checked', () => {
  const t = table([
    { tags: ['history', 'war'], 'first author': 'Ann', venue: { name: 'SIGIR' } },
    { tags: 'history' },
    { tags: ['war'], n: [1, 2.5] },
    { tags: [] },
    null,
  ]);
  try {
    assert.deepEqual(t.ids({ tags: 'history' }), [0, 1], 'an array matches when any element does');
    assert.deepEqual(t.ids({ tags: { $ne: 'history' } }), [2, 3, 4], 'no element equal (and no field)');
    assert.deepEqual(t.ids({ tags: { $all: ['war', 'history'] } }), [0]);
    assert.deepEqual(t.ids({ tags: { $all: [] } }), [], '$all: [] matches nothing (MongoDB)');
    assert.deepEqual(t.ids({ tags: { $in: [] } }), [], '$in: [] matches nothing');
    assert.deepEqual(t.ids({ tags: { $nin: [] } }), [0, 1, 2, 3, 4], '$nin: [] matches everything');
    assert.deepEqual(t.ids({ tags: { $size: 0 } }), [3]);
    assert.deepEqual(t.ids({ tags: { $size: 1 } }), [2], 'a scalar is not an array of one');
    assert.deepEqual(t.ids({ n: { $gt: 2 } }), [2]);
    assert.deepEqual(t.ids({ 'first author': 'Ann' }), [0], 'a key with a space');
    assert.deepEqual(t.ids({ 'venue.name': 'SIGIR' }), [0], 'a dot separates path parts');
    assert.deepEqual(t.ids({ venue: 'SIGIR' }), [], 'an object field never matches a scalar');
    for (const [f, re] of [
      [{ $or: [] }, /non-empty array/],
      [{ $and: [] }, /non-empty array/],
      [{ 'a"b': 1 }, /double quote/],
      [{ 'a.': 1 }, /non-empty names/],
      [{ doc_id: { $all: ['d1'] } }, /doc_id is a string/],
      [{ tags: { $size: -1 } }, /non-negative integer/],
    ] as const) {
      assert.throws(() => compileFilter(f), (e) => isPlaitError(e, 'INVALID_FILTER') && re.test((e as Error).message), JSON.stringify(f));
    }
  } finally {
    t.close();
  }
});

test('at and past the limits: lists and $or chains run or are INVALID_FILTER, never a SQLite error', () => {
  const docs: Meta[] = Array.from({ length: 50 }, (_, i) => ({ k: i, s: `v${i}`, tags: [i, i + 1] }));
  const t = table(docs);
  const invalid = (e: unknown): boolean => isPlaitError(e, 'INVALID_FILTER');
  try {
    const max = CONTRACT_DEFAULTS.maxFilterList;
    // A list of maxFilterList values is one parameter: the 1,000-value $in answered 500.
    const big = Array.from({ length: max }, (_, i) => i * 7);
    assert.deepEqual(t.ids({ k: { $in: big } }), docs.flatMap((_, i) => (i % 7 === 0 ? [i] : [])));
    assert.equal(compileFilter({ k: { $in: big } }).params.length, 7);
    assert.deepEqual(t.ids({ doc_id: { $nin: Array.from({ length: max }, (_, i) => `d${i + 1}`) } }), [0]);
    assert.throws(() => compileFilter({ k: { $in: [...big, 1] } }), invalid);
    // $or chains: 1,000 clauses (a linear chain was deeper than SQLITE_MAX_EXPR_DEPTH) up to the
    // parameter limit; past it, refused.
    for (const n of [1000, 2000, 6000]) {
      const f = { $or: Array.from({ length: n }, (_, i) => ({ s: `v${i}` })) };
      assert.deepEqual(t.ids(f), docs.map((_, i) => i), `$or of ${n}`);
    }
    assert.throws(() => compileFilter({ $or: Array.from({ length: 6001 }, (_, i) => ({ s: `v${i}` })) }), (e) => invalid(e) && /bound values/.test((e as Error).message));
    // Nesting up to maxFilterDepth runs in SQLite; one level more is refused.
    const nest = (d: number): Record<string, unknown> => (d === 0 ? { k: 3 } : { $or: [{ $and: [nest(d - 1), { k: { $exists: true } }] }, { k: -1 }] });
    const depth = CONTRACT_DEFAULTS.maxFilterDepth;
    assert.deepEqual(t.ids(nest(depth / 2)), [3]);
    assert.throws(() => compileFilter(nest(depth / 2 + 1)), (e) => invalid(e) && /nested deeper/.test((e as Error).message));
    let notChain: Record<string, unknown> = { k: 3 };
    for (let i = 0; i < depth; i++) notChain = { $not: notChain };
    assert.deepEqual(t.ids(notChain), [3], 'an even number of $not');
    assert.throws(() => compileFilter({ $not: notChain }), invalid);
  } finally {
    t.close();
  }
});
