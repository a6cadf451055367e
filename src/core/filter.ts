import { RE2JS } from 're2js';
import { HeraldError } from '../errors.js';

/**
 * Payload filters: a JSON object compiled once (when an endpoint or destination is saved, or
 * when its cached copy is older than the endpoint) into a closure tree, then run per event.
 *
 * A filter node is an object whose keys are paths (`data`, `data.object`, `data.items.0.sku`:
 * dotted keys and nested objects are the same thing), field operators applying to the path
 * reached so far (`$eq $neq $gt $gte $lt $lte $in $nin $exists $startsWith $endsWith $contains
 * $regex`) or logical operators (`$and`/`$or`: arrays of nodes, `$not`: one node); every key
 * must hold. A value that is not an object means `$eq`.
 *
 * Paths: an array on the way is crossed element by element (a numeric segment indexes it
 * instead); a condition holds when any value reached holds it, and for every operator but
 * `$contains` and `$exists` a value that is an array stands for its elements as well.
 * `$neq`/`$nin` hold when no value reached is equal / in the list (so they hold on a missing
 * path). Comparisons hold only between two numbers or two strings; two ISO timestamps compare
 * as instants (`2026-01-01T01:00:00+01:00` equals `2026-01-01T00:00:00Z`). Nothing throws on a
 * type mismatch: the condition is false.
 *
 * `$regex` runs on RE2 (re2js, linear time); a pattern it can't run is refused at compile.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface FilterReason {
  /** JSON pointer of the condition in the request (`/filter/data/amount/$gte`) */
  path: string;
  /** the dotted path of the field it tests */
  field: string;
  operator: string;
  expected?: unknown;
  /** the values found at `field` (up to 5); absent when the path is missing */
  actual?: unknown[];
  message: string;
}

export interface CompiledFilter {
  /**
   * `shared`: the values found at each path of this doc, for the filters of many endpoints to
   * share (fan-out gives each event a fresh Map): a path is walked once per event, not once per
   * endpoint. Only ever pass a Map made for this very doc.
   */
  (doc: unknown, shared?: Map<string, unknown[]>): boolean;
  /** `reasons` names the first condition that failed (for `$or`, the first of every branch) */
  explain(doc: unknown): { matches: boolean; reasons: FilterReason[] };
}

/** Limits: a saved filter runs on every event of its app, so its cost is capped here. */
export const FILTER_LIMITS = {
  /** bytes of the filter as compact JSON */
  maxBytes: 16_384,
  /** nesting of objects and arrays in the filter */
  maxDepth: 12,
  /** conditions (field operators) in one filter */
  maxConditions: 100,
  /** items of one $in/$nin list */
  maxListItems: 256,
  /** characters of one $regex pattern */
  maxRegexLength: 256,
  /** segments of one path */
  maxPathSegments: 32,
} as const;

export const FIELD_OPERATORS = ['$eq', '$neq', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$startsWith', '$endsWith', '$contains', '$regex'] as const;
type FieldOp = (typeof FIELD_OPERATORS)[number];
const FIELD_OPS = new Set<string>(FIELD_OPERATORS);

const INDEX = /^(0|[1-9][0-9]{0,8})$/;
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Milliseconds of an ISO 8601 timestamp, or undefined for any other value. */
export function isoTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.length > 40 || !ISO.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON equality; two ISO timestamps are equal when they name the same instant. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'string' && typeof b === 'string') {
    const ta = isoTime(a);
    return ta !== undefined && ta === isoTime(b);
  }
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** -1/0/1, or undefined when the two can't be ordered (different types, not numbers or strings). */
function order(v: unknown, arg: number | string, argTime: number | undefined): number | undefined {
  if (typeof arg === 'number') return typeof v === 'number' ? Math.sign(v - arg) : undefined;
  if (typeof v !== 'string') return undefined;
  if (argTime !== undefined) {
    const t = isoTime(v);
    if (t !== undefined) return Math.sign(t - argTime);
  }
  return v < arg ? -1 : v > arg ? 1 : 0;
}

/** Every value at `path` in `doc`, crossing arrays element by element (numeric segments index them). */
export function valuesAt(doc: unknown, path: readonly string[], from = 0, out: unknown[] = []): unknown[] {
  let cur = doc;
  for (let i = from; i < path.length; i++) {
    if (Array.isArray(cur)) {
      const seg = path[i];
      if (INDEX.test(seg)) {
        const n = Number(seg);
        if (n >= cur.length) return out;
        cur = cur[n];
        continue;
      }
      for (const el of cur) valuesAt(el, path, i, out);
      return out;
    }
    if (!isObject(cur) || !Object.hasOwn(cur, path[i])) return out;
    cur = cur[path[i]];
  }
  out.push(cur);
  return out;
}

interface Node {
  test(doc: unknown): boolean;
  explain(doc: unknown): FilterReason[];
}

interface Ctx { conditions: number; base: string }

/** The `shared` Map of the matcher call under way (evaluation is synchronous: one at a time). */
let sharedValues: Map<string, unknown[]> | null = null;

const pointer = (parts: readonly string[]): string => parts.map((p) => '/' + p.replace(/~/g, '~0').replace(/\//g, '~1')).join('');

function invalid(ctx: Ctx, at: readonly string[], message: string, extra: Record<string, unknown> = {}): HeraldError {
  const path = ctx.base + pointer(at);
  return new HeraldError('invalid_filter', `${path}: ${message}`, { path, ...extra });
}

function depthOf(v: unknown, limit: number, depth = 0): number {
  if (depth > limit) return depth;
  if (Array.isArray(v)) return v.reduce<number>((m, x) => Math.max(m, depthOf(x, limit, depth + 1)), depth + 1);
  if (isObject(v)) return Object.values(v).reduce<number>((m, x) => Math.max(m, depthOf(x, limit, depth + 1)), depth + 1);
  return depth;
}

/** What a stored filter that no longer compiles (limits tightened since it was saved, say) does: match nothing, and say so. */
const REFUSES: CompiledFilter = Object.assign(() => false, {
  explain: () => ({ matches: false, reasons: [{ path: '/filter', field: '', operator: '', message: 'the stored filter is invalid' }] }),
});

/** A filter read from storage (saved through the API, so it compiled then): compiled, or one that matches nothing. */
export function compileStoredFilter(filter: unknown): CompiledFilter {
  try {
    return compileFilter(filter);
  } catch {
    return REFUSES;
  }
}

/**
 * Compiles a filter or throws `invalid_filter` (422) whose `details.path` is a JSON pointer to
 * what is wrong, starting at `base` (`/filter`, `/destinations/0/filter`).
 */
export function compileFilter(filter: unknown, base = '/filter'): CompiledFilter {
  const ctx: Ctx = { conditions: 0, base };
  if (!isObject(filter)) throw invalid(ctx, [], 'a filter is a JSON object');
  const bytes = Buffer.byteLength(JSON.stringify(filter));
  if (bytes > FILTER_LIMITS.maxBytes) throw invalid(ctx, [], `the filter is ${bytes} bytes; at most ${FILTER_LIMITS.maxBytes}`, { limit: FILTER_LIMITS.maxBytes });
  if (depthOf(filter, FILTER_LIMITS.maxDepth) > FILTER_LIMITS.maxDepth) throw invalid(ctx, [], `the filter nests more than ${FILTER_LIMITS.maxDepth} levels`, { limit: FILTER_LIMITS.maxDepth });
  const root = node(filter, [], [], ctx);
  const fn = ((doc: unknown, shared?: Map<string, unknown[]>) => {
    const outer = sharedValues;
    sharedValues = shared ?? null;
    try {
      return root.test(doc);
    } finally {
      sharedValues = outer;
    }
  }) as CompiledFilter;
  fn.explain = (doc) => {
    const matches = root.test(doc);
    return { matches, reasons: matches ? [] : root.explain(doc) };
  };
  return fn;
}

function node(value: unknown, field: string[], at: string[], ctx: Ctx): Node {
  if (!isObject(value)) {
    if (field.length === 0) throw invalid(ctx, at, 'expected an object of paths and operators');
    return condition('$eq', value, field, at, ctx);
  }
  const parts: Node[] = [];
  for (const [key, v] of Object.entries(value)) {
    const here = [...at, key];
    if (FIELD_OPS.has(key)) {
      if (field.length === 0) throw invalid(ctx, here, `${key} needs a path to apply to (such as {"data.amount": {"${key}": …}})`);
      parts.push(condition(key as FieldOp, v, field, here, ctx));
    } else if (key === '$and' || key === '$or') {
      if (!Array.isArray(v) || v.length === 0) throw invalid(ctx, here, `${key} takes a non-empty array of filters`);
      const kids = v.map((x, i) => node(x, field, [...here, String(i)], ctx));
      parts.push(key === '$and' ? all(kids) : any(kids, ctx.base + pointer(here), field.join('.')));
    } else if (key === '$not') {
      parts.push(not(node(v, field, here, ctx), ctx.base + pointer(here), field.join('.')));
    } else if (key.startsWith('$')) {
      throw invalid(ctx, here, `unknown operator ${key}; operators are ${[...FIELD_OPERATORS, '$and', '$or', '$not'].join(' ')}`);
    } else {
      const segs = key.split('.');
      if (segs.some((s) => s === '')) throw invalid(ctx, here, 'a path has no empty segments');
      const next = [...field, ...segs];
      if (next.length > FILTER_LIMITS.maxPathSegments) throw invalid(ctx, here, `a path has at most ${FILTER_LIMITS.maxPathSegments} segments`);
      parts.push(node(v, next, here, ctx));
    }
  }
  return parts.length === 1 ? parts[0] : all(parts);
}

function all(kids: Node[]): Node {
  return {
    test: (doc) => {
      for (const k of kids) if (!k.test(doc)) return false;
      return true;
    },
    explain: (doc) => {
      for (const k of kids) if (!k.test(doc)) return k.explain(doc);
      return [];
    },
  };
}

function any(kids: Node[], path: string, field: string): Node {
  return {
    test: (doc) => {
      for (const k of kids) if (k.test(doc)) return true;
      return false;
    },
    explain: (doc) => [
      { path, field, operator: '$or', message: `none of the ${kids.length} alternatives matched` },
      ...kids.flatMap((k) => k.explain(doc)),
    ],
  };
}

function not(kid: Node, path: string, field: string): Node {
  return {
    test: (doc) => !kid.test(doc),
    explain: () => [{ path, field, operator: '$not', message: 'the negated condition matched' }],
  };
}

type Test = (v: unknown) => boolean;

function condition(op: FieldOp, arg: unknown, field: string[], at: string[], ctx: Ctx): Node {
  if (++ctx.conditions > FILTER_LIMITS.maxConditions) throw invalid(ctx, at, `a filter has at most ${FILTER_LIMITS.maxConditions} conditions`, { limit: FILTER_LIMITS.maxConditions });
  const path = ctx.base + pointer(at);
  const name = field.join('.');
  let test: (values: unknown[]) => boolean;
  const anyValue = (t: Test) => (values: unknown[]) => {
    for (const v of values) {
      if (t(v)) return true;
      if (Array.isArray(v)) for (const el of v) if (t(el)) return true;
    }
    return false;
  };
  switch (op) {
    case '$exists':
      if (typeof arg !== 'boolean') throw invalid(ctx, at, '$exists takes true or false');
      test = arg ? (vs) => vs.length > 0 : (vs) => vs.length === 0;
      break;
    case '$eq':
    case '$neq': {
      const eq = anyValue(equals(arg));
      test = op === '$eq' ? eq : (vs) => !eq(vs);
      break;
    }
    case '$in':
    case '$nin': {
      if (!Array.isArray(arg)) throw invalid(ctx, at, `${op} takes an array of values`);
      if (arg.length > FILTER_LIMITS.maxListItems) throw invalid(ctx, at, `${op} takes at most ${FILTER_LIMITS.maxListItems} values`, { limit: FILTER_LIMITS.maxListItems });
      const tests = arg.map(equals);
      const exact = new Set(arg.filter((a) => a === null || typeof a !== 'object'));
      const rest = arg.map((a, i) => ({ a, t: tests[i] })).filter(({ a }) => (a !== null && typeof a === 'object') || isoTime(a) !== undefined).map(({ t }) => t);
      const inList = anyValue((v) => exact.has(v) || rest.some((t) => t(v)));
      test = op === '$in' ? inList : (vs) => !inList(vs);
      break;
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      if (typeof arg !== 'number' && typeof arg !== 'string') throw invalid(ctx, at, `${op} compares with a number or a string`);
      const t = isoTime(arg);
      const ok = op === '$gt' ? (o: number) => o > 0 : op === '$gte' ? (o: number) => o >= 0 : op === '$lt' ? (o: number) => o < 0 : (o: number) => o <= 0;
      test = anyValue((v) => {
        const o = order(v, arg, t);
        return o !== undefined && ok(o);
      });
      break;
    }
    case '$startsWith':
    case '$endsWith': {
      if (typeof arg !== 'string') throw invalid(ctx, at, `${op} takes a string`);
      test = anyValue(op === '$startsWith' ? (v) => typeof v === 'string' && v.startsWith(arg) : (v) => typeof v === 'string' && v.endsWith(arg));
      break;
    }
    case '$contains': {
      const eq = equals(arg);
      test = (vs) => {
        for (const v of vs) {
          if (typeof v === 'string' && typeof arg === 'string' && v.includes(arg)) return true;
          if (Array.isArray(v) && v.some(eq)) return true;
        }
        return false;
      };
      break;
    }
    case '$regex': {
      if (typeof arg !== 'string') throw invalid(ctx, at, '$regex takes a string (an RE2 pattern)');
      if (arg.length > FILTER_LIMITS.maxRegexLength) throw invalid(ctx, at, `a $regex pattern has at most ${FILTER_LIMITS.maxRegexLength} characters`, { limit: FILTER_LIMITS.maxRegexLength });
      let re: RE2JS;
      try {
        re = RE2JS.compile(arg);
      } catch (err) {
        throw invalid(ctx, at, `the pattern can't be used (only what runs in linear time is: no backreferences or lookaround): ${(err as Error).message}`);
      }
      test = anyValue((v) => typeof v === 'string' && re.test(v));
      break;
    }
  }
  // One buffer per condition, refilled at each call: a test reads it before the next one is
  // made, and 50 filters of 5 conditions on every event would otherwise allocate 250 arrays.
  const buffer: unknown[] = [];
  const key = field.join('\u0000');
  const values = (doc: unknown) => {
    if (sharedValues) {
      let found = sharedValues.get(key);
      if (!found) sharedValues.set(key, (found = valuesAt(doc, field)));
      return found;
    }
    buffer.length = 0;
    return valuesAt(doc, field, 0, buffer);
  };
  return {
    test: (doc) => test(values(doc)),
    explain: (doc) => {
      const found = [...values(doc)];
      const reason: FilterReason = { path, field: name, operator: op, expected: arg, message: '' };
      if (found.length > 0) reason.actual = found.slice(0, 5);
      reason.message = found.length === 0 && op !== '$exists'
        ? `${name} is missing`
        : `${name} ${op} ${JSON.stringify(arg)} does not hold for ${JSON.stringify(found.slice(0, 5)).slice(0, 200)}`;
      return [reason];
    },
  };
}

function equals(arg: unknown): Test {
  if (arg === null || typeof arg === 'boolean' || typeof arg === 'number') return (v) => v === arg;
  if (typeof arg === 'string') {
    const t = isoTime(arg);
    return t === undefined ? (v) => v === arg : (v) => v === arg || (typeof v === 'string' && isoTime(v) === t);
  }
  return (v) => jsonEqual(v, arg);
}
