/** The event catalogue as the endpoint form's picker shows it: groups by first segment, with their wildcards. */
export { subscribes } from '../../../src/core/match.js';
export { exampleFromSchema } from '../../../src/core/example.js';

export const SUBSCRIPTION = /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/;

export interface EventGroup {
  /** "person" */
  prefix: string;
  /** "person.*" */
  wildcard: string;
  types: string[];
}

export function groupEventTypes(names: string[]): EventGroup[] {
  const groups = new Map<string, string[]>();
  for (const n of [...names].sort()) {
    const dot = n.indexOf('.');
    const prefix = dot > 0 ? n.slice(0, dot) : n;
    if (!groups.has(prefix)) groups.set(prefix, []);
    groups.get(prefix)!.push(n);
  }
  return [...groups].map(([prefix, types]) => ({ prefix, wildcard: `${prefix}.*`, types }));
}

/** A list of subscriptions without entries that another one already covers. */
export function normalizeSubscriptions(list: string[]): string[] {
  const unique = [...new Set(list.map((s) => s.trim()).filter(Boolean))];
  if (unique.includes('*')) return ['*'];
  const wildcards = unique.filter((s) => s.endsWith('.*')).map((s) => s.slice(0, -1));
  return unique.filter((s) => s.endsWith('.*') ? !wildcards.some((w) => w !== s.slice(0, -1) && s.startsWith(w)) : !wildcards.some((w) => s.startsWith(w)));
}
