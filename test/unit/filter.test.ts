import { describe, expect, it } from 'vitest';
import { compileFilter, FILTER_LIMITS } from '../../src/core/filter.js';
import { HeraldError } from '../../src/errors.js';

/**
 * The reference: the documented semantics read as directly as possible, interpreting the raw
 * filter per call (what the compiled matcher must never do on the publish path).
 */
function ref(filter: unknown, doc: unknown, field: string[] = []): boolean {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return refOp('$eq', filter, doc, field);
  return Object.entries(filter).every(([k, v]) => {
    if (k === '$and') return (v as unknown[]).every((x) => ref(x, doc, field));
    if (k === '$or') return (v as unknown[]).some((x) => ref(x, doc, field));
    if (k === '$not') return !ref(v, doc, field);
    if (k.startsWith('$')) return refOp(k, v, doc, field);
    return ref(v, doc, [...field, ...k.split('.')]);
  });
}

function refValues(doc: unknown, path: string[]): unknown[] {
  if (path.length === 0) return [doc];
  const [seg, ...rest] = path;
  if (Array.isArray(doc)) {
    if (/^(0|[1-9]\d*)$/.test(seg)) return Number(seg) < doc.length ? refValues(doc[Number(seg)], rest) : [];
    return doc.flatMap((el) => refValues(el, path));
  }
  if (typeof doc === 'object' && doc !== null && Object.prototype.hasOwnProperty.call(doc, seg)) return refValues((doc as any)[seg], rest);
  return [];
}

function refTime(v: unknown): number | null {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? null : t;
}

function refEq(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b || (refTime(a) !== null && refTime(a) === refTime(b));
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => kb.includes(k) && refEq((a as any)[k], (b as any)[k]));
}

function refCmp(v: unknown, arg: unknown): number | null {
  if (typeof v === 'number' && typeof arg === 'number') return v < arg ? -1 : v > arg ? 1 : 0;
  if (typeof v === 'string' && typeof arg === 'string') {
    const tv = refTime(v), ta = refTime(arg);
    if (tv !== null && ta !== null) return tv < ta ? -1 : tv > ta ? 1 : 0;
    return v < arg ? -1 : v > arg ? 1 : 0;
  }
  return null;
}

function refOp(op: string, arg: unknown, doc: unknown, field: string[]): boolean {
  const found = refValues(doc, field);
  const expanded = found.flatMap((v) => (Array.isArray(v) ? [v, ...v] : [v]));
  const some = (t: (v: unknown) => boolean) => expanded.some(t);
  switch (op) {
    case '$exists': return arg ? found.length > 0 : found.length === 0;
    case '$eq': return some((v) => refEq(v, arg));
    case '$neq': return !some((v) => refEq(v, arg));
    case '$in': return some((v) => (arg as unknown[]).some((a) => refEq(v, a)));
    case '$nin': return !some((v) => (arg as unknown[]).some((a) => refEq(v, a)));
    case '$gt': return some((v) => (refCmp(v, arg) ?? -2) > 0);
    case '$gte': return some((v) => (refCmp(v, arg) ?? -2) >= 0);
    case '$lt': return some((v) => (refCmp(v, arg) ?? 2) < 0);
    case '$lte': return some((v) => (refCmp(v, arg) ?? 2) <= 0);
    case '$startsWith': return some((v) => typeof v === 'string' && v.slice(0, (arg as string).length) === arg);
    case '$endsWith': return some((v) => typeof v === 'string' && (arg === '' || v.slice(-(arg as string).length) === arg));
    case '$contains': return found.some((v) => (typeof v === 'string' && typeof arg === 'string' ? v.indexOf(arg) >= 0 : Array.isArray(v) && v.some((x) => refEq(x, arg))));
    case '$regex': return some((v) => typeof v === 'string' && new RegExp(arg as string, 'u').test(v));
  }
  throw new Error(op);
}

/** mulberry32: a seeded generator, so a failure prints a seed that reproduces it */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}

const KEYS = ['a', 'b', 'c', 'é', '0', '1'];
const STRINGS = ['', 'x', 'ab', 'abc', 'b', 'Ünï', '🦄', '2026-01-01T00:00:00Z', '2026-01-01T01:00:00+01:00', '2025-06-01', 'people'];
const SCALARS: unknown[] = [null, true, false, 0, 1, -2.5, 3, 100, ...STRINGS];

function genValue(r: ReturnType<typeof rng>, depth: number): unknown {
  const k = r.int(depth <= 0 ? 1 : 4);
  if (k === 0) return r.pick(SCALARS);
  if (k === 1) return Array.from({ length: r.int(4) }, () => genValue(r, depth - 1));
  return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(KEYS), genValue(r, depth - 1)]));
}

function genPath(r: ReturnType<typeof rng>): string {
  return Array.from({ length: 1 + r.int(3) }, () => r.pick(KEYS)).join('.');
}

function genOp(r: ReturnType<typeof rng>): Record<string, unknown> | unknown {
  const op = r.pick(['$eq', '$neq', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$startsWith', '$endsWith', '$contains', '$regex', 'plain', '$not']);
  switch (op) {
    case 'plain': return r.pick(SCALARS);
    case '$exists': return { $exists: r.next() < 0.5 };
    case '$in': case '$nin': return { [op]: Array.from({ length: r.int(4) }, () => r.pick(SCALARS)) };
    case '$gt': case '$gte': case '$lt': case '$lte': return { [op]: r.pick([0, 1, 3, -1, ...STRINGS]) };
    case '$startsWith': case '$endsWith': return { [op]: r.pick(STRINGS) };
    case '$contains': return { [op]: r.pick(SCALARS) };
    case '$regex': return { [op]: r.pick(['^a', 'b$', 'x|🦄', '^$', '[0-9]+', 'Ü']) };
    case '$not': return { $not: genOp(r) };
    default: return { [op]: r.pick(SCALARS) };
  }
}

function genFilter(r: ReturnType<typeof rng>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0, n = 1 + r.int(3); i < n; i++) {
    const k = r.int(depth <= 0 ? 2 : 6);
    if (k <= 1) out[genPath(r)] = genOp(r);
    else if (k === 2) out[r.pick(KEYS)] = genFilter(r, depth - 1); // nested object ≡ dotted key
    else if (k === 3) out.$and = Array.from({ length: 1 + r.int(3) }, () => genFilter(r, depth - 1));
    else if (k === 4) out.$or = Array.from({ length: 1 + r.int(3) }, () => genFilter(r, depth - 1));
    else out.$not = genFilter(r, depth - 1);
  }
  return out;
}

const reject = (filter: unknown) => {
  try {
    compileFilter(filter);
  } catch (err) {
    expect(err).toBeInstanceOf(HeraldError);
    expect((err as HeraldError).code).toBe('invalid_filter');
    expect((err as HeraldError).status).toBe(422);
    return (err as HeraldError).details as { path: string };
  }
  throw new Error(`accepted ${JSON.stringify(filter).slice(0, 100)}`);
};

const envelope = {
  id: 'evt_1', type: 'payment.succeeded', timestamp: '2026-03-01T10:00:00.000Z', channels: ['team_42'],
  data: { amount: 1500, currency: 'EUR', object: 'people', tags: ['vip', 'beta'], items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-2', qty: 5 }], nested: [[{ v: 1 }], [{ v: 7 }]], customer: { name: 'Zoë', email: 'zoe@example.com' }, note: null },
};

describe('filter: compiled matcher', () => {
  const m = (f: unknown) => compileFilter(f)(envelope);

  it('matches the documented operators', () => {
    expect(m({})).toBe(true);
    expect(m({ data: { object: 'people' } })).toBe(true);
    expect(m({ 'data.object': 'people' })).toBe(true);
    expect(m({ 'data.object': { $neq: 'people' } })).toBe(false);
    expect(m({ 'data.amount': { $gt: 1000, $lte: 1500 } })).toBe(true);
    expect(m({ 'data.amount': { $lt: 1500 } })).toBe(false);
    expect(m({ 'data.currency': { $in: ['EUR', 'USD'] } })).toBe(true);
    expect(m({ 'data.currency': { $nin: ['EUR'] } })).toBe(false);
    expect(m({ 'data.missing': { $exists: false }, 'data.note': { $exists: true } })).toBe(true);
    expect(m({ 'data.customer.email': { $endsWith: '@example.com', $startsWith: 'zoe' } })).toBe(true);
    expect(m({ 'data.tags': { $contains: 'vip' } })).toBe(true);
    expect(m({ 'data.customer.name': { $contains: 'oë' } })).toBe(true);
    expect(m({ 'data.customer.name': { $regex: '^Z.ë$' } })).toBe(true);
    expect(m({ type: { $regex: '^payment\\.' } })).toBe(true);
    expect(m({ $or: [{ 'data.amount': { $gt: 5000 } }, { channels: 'team_42' }] })).toBe(true);
    expect(m({ $not: { 'data.currency': 'EUR' } })).toBe(false);
    expect(m({ 'data.amount': { $not: { $lt: 100 } } })).toBe(true);
    expect(m({ data: { $and: [{ amount: { $gte: 1500 } }, { currency: 'EUR' }] } })).toBe(true);
  });

  it('indexes arrays, and a condition on an array holds when any element holds it', () => {
    expect(m({ 'data.items.0.sku': 'A-1' })).toBe(true);
    expect(m({ 'data.items.1.sku': 'A-1' })).toBe(false);
    expect(m({ 'data.items.sku': 'B-2' })).toBe(true);
    expect(m({ 'data.items.qty': { $gt: 4 } })).toBe(true);
    expect(m({ 'data.items.qty': { $gt: 5 } })).toBe(false);
    expect(m({ 'data.tags': 'beta' })).toBe(true);
    expect(m({ 'data.nested.v': 7, 'data.nested.1.0.v': 7 })).toBe(true);
    expect(m({ 'data.items.9.sku': { $exists: false } })).toBe(true);
    expect(m({ 'data.tags': { $eq: ['vip', 'beta'] } })).toBe(true);
  });

  it('compares ISO timestamps as instants, strings as strings, never across types', () => {
    expect(m({ timestamp: { $gte: '2026-03-01T11:00:00+01:00' } })).toBe(true);
    expect(m({ timestamp: { $gt: '2026-03-01T11:00:00+01:00' } })).toBe(false);
    expect(m({ timestamp: '2026-03-01T11:00:00+01:00' })).toBe(true);
    expect(m({ timestamp: { $lt: '2026-04' } })).toBe(true); // not an ISO date: string order
    expect(m({ 'data.currency': { $gt: 'AAA' } })).toBe(true);
    expect(m({ 'data.amount': { $gt: '1' } })).toBe(false);
    expect(m({ 'data.currency': { $gt: 1 } })).toBe(false);
    expect(m({ 'data.amount': '1500' })).toBe(false);
  });

  it('never throws on missing paths, null, type mismatches or odd documents', () => {
    const f = compileFilter({ 'data.a.b.c': { $gt: 1 }, 'data.x': { $regex: 'a' }, 'data.y': { $contains: 'q' }, 'data.z': { $startsWith: 'a' } });
    for (const doc of [null, undefined, 1, 'x', [], [1, [2]], { data: null }, { data: { a: null } }, { data: { a: [null, 1, 'x', { b: [] }] } }, { data: Object.create(null) }]) {
      expect(() => f(doc)).not.toThrow();
      expect(() => f.explain(doc)).not.toThrow();
      expect(f(doc)).toBe(false);
    }
    expect(compileFilter({ 'constructor.name': 'Object' })({})).toBe(false);
    expect(compileFilter(JSON.parse('{"__proto__": {"$exists": true}}'))({})).toBe(false);
    expect(compileFilter(JSON.parse('{"data.__proto__.x": {"$exists": false}}'))(JSON.parse('{"data": {"__proto__": {"x": 1}}}'))).toBe(false);
    expect(compileFilter({ 'toString': { $exists: true } })({ data: {} })).toBe(false);
  });

  it('explains the first condition that failed, with a JSON pointer into the request', () => {
    const f = compileFilter({ type: 'payment.succeeded', data: { amount: { $gte: 5000 }, currency: 'USD' } });
    const e = f.explain(envelope);
    expect(e.matches).toBe(false);
    expect(e.reasons).toEqual([expect.objectContaining({ path: '/filter/data/amount/$gte', field: 'data.amount', operator: '$gte', expected: 5000, actual: [1500] })]);
    expect(f.explain({ ...envelope, data: { amount: 6000, currency: 'USD' } })).toEqual({ matches: true, reasons: [] });
    const missing = compileFilter({ 'data.score': { $lt: 3 } }).explain(envelope).reasons[0];
    expect(missing.message).toBe('data.score is missing');
    const or = compileFilter({ $or: [{ 'data.amount': 1 }, { 'a/b': 2 }] }).explain(envelope).reasons;
    expect(or.map((r) => r.path)).toEqual(['/filter/$or', '/filter/$or/0/data.amount', '/filter/$or/1/a~1b']);
  });

  it('agrees with the reference interpreter on generated filters and events', () => {
    const seeds = Number(process.env.FILTER_PROPERTY_RUNS ?? 2000);
    let matched = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const r = rng(seed);
      const filter = genFilter(r, 3);
      const f = compileFilter(filter);
      for (let j = 0; j < 5; j++) {
        const doc = genValue(r, 4);
        const want = ref(filter, doc);
        if (f(doc) !== want) throw new Error(`seed ${seed}: ${JSON.stringify(filter)} on ${JSON.stringify(doc)}: reference says ${want}`);
        expect(f.explain(doc).matches).toBe(want);
        if (want) matched++;
      }
    }
    // the generator must exercise both outcomes
    expect(matched).toBeGreaterThan(seeds / 10);
    expect(matched).toBeLessThan(seeds * 4.9);
  });

  it('gives the same answers when many filters share the values found on one event (as fan-out does)', () => {
    const seeds = Number(process.env.FILTER_PROPERTY_RUNS ?? 2000) / 10;
    for (let seed = 1; seed <= seeds; seed++) {
      const r = rng(seed);
      const filters = Array.from({ length: 8 }, () => genFilter(r, 3));
      const compiled = filters.map((x) => compileFilter(x));
      for (let j = 0; j < 5; j++) {
        const doc = genValue(r, 4);
        const shared = new Map<string, unknown[]>();
        compiled.forEach((f, i) => {
          const want = ref(filters[i], doc);
          if (f(doc, shared) !== want) throw new Error(`seed ${seed}, filter ${i}: ${JSON.stringify(filters[i])} on ${JSON.stringify(doc)} with shared values: reference says ${want}`);
        });
      }
    }
  });
});

describe('filter: refused filters', () => {
  it('points at what is wrong', () => {
    expect(reject({ data: { amount: { $gte: {} } } }).path).toBe('/filter/data/amount/$gte');
    expect(reject({ 'data.amount': { $between: [1, 2] } }).path).toBe('/filter/data.amount/$between');
    expect(reject({ $or: [] }).path).toBe('/filter/$or');
    expect(reject({ $and: [{ a: 1 }, 'x'] }).path).toBe('/filter/$and/1');
    expect(reject({ $gt: 1 }).path).toBe('/filter/$gt');
    expect(reject({ a: { $in: 'x' } }).path).toBe('/filter/a/$in');
    expect(reject({ a: { $exists: 1 } }).path).toBe('/filter/a/$exists');
    expect(reject({ 'a..b': 1 }).path).toBe('/filter/a..b');
    expect(reject({ a: { $regex: '(a)\\1' } }).path).toBe('/filter/a/$regex');
    expect(reject({ a: { $regex: '(?=x)' } }).path).toBe('/filter/a/$regex');
    expect(reject('x').path).toBe('/filter');
    expect(reject([]).path).toBe('/filter');
    expect(reject(null).path).toBe('/filter');
    expect(() => compileFilter({ a: { $startsWith: 1 } }, '/destinations/2/filter')).toThrow(/\/destinations\/2\/filter\/a\/\$startsWith/);
  });

  it('bounds size, depth, conditions, lists and patterns', () => {
    expect(reject({ a: 'x'.repeat(FILTER_LIMITS.maxBytes) })).toMatchObject({ path: '/filter', limit: FILTER_LIMITS.maxBytes });
    let deep: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < 20; i++) deep = { $not: deep };
    expect(reject(deep).path).toBe('/filter');
    expect(reject(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]))).path).toBe('/filter/k100');
    expect(reject({ a: { $in: Array.from({ length: 257 }, (_, i) => i) } }).path).toBe('/filter/a/$in');
    expect(reject({ a: { $regex: 'a'.repeat(257) } }).path).toBe('/filter/a/$regex');
    expect(reject({ [Array.from({ length: 33 }, () => 'a').join('.')]: 1 }).path).toMatch(/^\/filter\/a\.a/);
  });

  it('runs a hostile filter in bounded time', () => {
    // catastrophic for a backtracking engine: 2^n on 30 a's and a '!'
    const f = compileFilter({ 'data.s': { $regex: '^(a+)+$' }, $or: Array.from({ length: 40 }, (_, i) => ({ [`data.items.k${i}`]: { $regex: '(x+x+)+y' } })) });
    const doc = { data: { s: 'a'.repeat(30_000) + '!', items: Array.from({ length: 2000 }, () => ({ k1: 'x'.repeat(50) })) } };
    const start = performance.now();
    expect(f(doc)).toBe(false);
    f.explain(doc);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
