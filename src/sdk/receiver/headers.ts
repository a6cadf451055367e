/**
 * Accepts every header shape a receiver is likely to hold: a Fetch `Headers`
 * (or anything with `forEach(value, key)`, such as a Map), Node's
 * `IncomingHttpHeaders` (already lower-case, arrays for repeats) or a plain
 * object typed by hand in any letter case.
 */

export type HeaderValue = string | readonly string[] | number | undefined | null;

export interface HeadersLike {
  forEach(callback: (value: string, key: string) => void): void;
}

export type HeadersInput = HeadersLike | Readonly<Record<string, HeaderValue>>;

export type HeaderLookup = (name: string) => string | undefined;

function normalizeValue(value: HeaderValue): string | undefined {
  if (value === undefined || value === null) return undefined;
  // Repeated headers combine with ", " as in RFC 9110 §5.3 (what Node does for most names).
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}

export function headerLookup(headers: HeadersInput): HeaderLookup {
  const map = new Map<string, string>();
  const add = (key: string, raw: HeaderValue): void => {
    const value = normalizeValue(raw);
    if (value === undefined) return;
    const name = key.toLowerCase();
    const prev = map.get(name);
    map.set(name, prev === undefined ? value : `${prev}, ${value}`);
  };
  if (headers && typeof (headers as HeadersLike).forEach === 'function') {
    (headers as HeadersLike).forEach((value, key) => add(key, value));
  } else if (headers && typeof headers === 'object') {
    for (const [key, value] of Object.entries(headers)) add(key, value as HeaderValue);
  }
  return (name) => {
    const value = map.get(name.toLowerCase())?.trim();
    return value === '' ? undefined : value;
  };
}
