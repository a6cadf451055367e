/**
 * Event-type names and subscriptions. A name is dot-separated segments
 * (`person.created`, `chat.query.completed`); a subscription entry is a name, `*`,
 * or a prefix ending in a wildcard segment (`person.*` matches `person.created` and
 * `person.note.added`).
 */
export const EVENT_TYPE_PATTERN = '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$';
export const SUBSCRIPTION_PATTERN = '^(\\*|[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(\\.\\*)?)$';

export function subscribes(filters: readonly string[] | null, type: string): boolean {
  if (filters === null || filters.length === 0) return true;
  for (const f of filters) {
    if (f === '*' || f === type) return true;
    if (f.endsWith('.*') && type.startsWith(f.slice(0, -1))) return true;
  }
  return false;
}
