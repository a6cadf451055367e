/**
 * How deep a JSON value may nest. Real payloads stay within a dozen levels; JSON.stringify,
 * Ajv and every other recursive consumer overflow the stack a few thousand levels down, where
 * the error is a RangeError from deep inside whatever touched the value first.
 */
export const MAX_JSON_DEPTH = 64;

export interface JsonProblem {
  problem: 'too_deep' | 'nul';
  /** JSON Pointer to the offending value (for too_deep, to where the limit was crossed) */
  path: string;
}

/** What the walk needs to look at: nested objects and arrays, and strings when NUL matters. */
const worthVisiting = (v: unknown, nul: boolean) => (typeof v === 'object' && v !== null) || (nul && typeof v === 'string');

/**
 * Whether a parsed JSON value has a problem, as fast as possible: no paths, nothing allocated
 * per value but its place on the stack. Primitives are looked at where they sit, not pushed.
 */
function hasProblem(value: unknown, nul: boolean): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  const visit = (child: unknown, depth: number) => {
    if (worthVisiting(child, nul)) {
      values.push(child);
      depths.push(depth);
    }
  };
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v === 'string') {
      if (nul && v.includes('\u0000')) return true;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth === MAX_JSON_DEPTH) return true;
    if (Array.isArray(v)) {
      for (const child of v) visit(child, depth + 1);
      continue;
    }
    for (const key in v) {
      if (nul && key.includes('\u0000')) return true;
      visit((v as Record<string, unknown>)[key], depth + 1);
    }
  }
  return false;
}

/** The JSON Pointer of the first problem; slow, only run once hasProblem found one. */
function problemAt(value: unknown, nul: boolean): JsonProblem {
  interface Node { value: unknown; key: string; depth: number; parent: Node | null }
  const pointer = (node: Node): string => {
    const keys: string[] = [];
    for (let n: Node | null = node; n?.parent; n = n.parent) keys.push(n.key.replace(/~/g, '~0').replace(/\//g, '~1'));
    return keys.reverse().map((k) => `/${k}`).join('');
  };
  const stack: Node[] = [{ value, key: '', depth: 0, parent: null }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const v = node.value;
    if (typeof v === 'string') {
      if (nul && v.includes('\u0000')) return { problem: 'nul', path: pointer(node) };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (node.depth === MAX_JSON_DEPTH) return { problem: 'too_deep', path: pointer(node) };
    for (const [key, child] of Object.entries(v)) {
      const next = { value: child, key, depth: node.depth + 1, parent: node };
      if (nul && key.includes('\u0000')) return { problem: 'nul', path: pointer(next) };
      stack.push(next);
    }
  }
  throw new Error('problemAt: no problem found');
}

/**
 * The first problem of a parsed JSON value: objects and arrays nested more than
 * MAX_JSON_DEPTH deep, or, with `nul`, a NUL character in a string or a key (PostgreSQL's
 * text can't hold one). Iterative, so a value nested deeper than the stack can't overflow
 * the check itself. On every publish, hence the fast check first and paths only for a problem.
 */
export function jsonProblem(value: unknown, options: { nul: boolean } = { nul: false }): JsonProblem | null {
  return hasProblem(value, options.nul) ? problemAt(value, options.nul) : null;
}
