import { compileStoredFilter, type CompiledFilter, type FilterReason } from '../core/filter.js';
import { APP_ROUTE } from '../store/rows.js';
import type { Source, SourceDestination } from '../store/inbound.js';
import type { RequestView } from './selectors.js';

/**
 * Which destinations of a source a verified request goes to. A destination may carry a
 * filter (the payload filters of core/filter.ts) over what it would forward:
 *
 *   {"headers": {…lower-case names…}, "body": <JSON, form fields, or the text>, "query": {…}}
 *
 * so `{"headers.x-github-event": "push", "body.ref": "refs/heads/main"}` sends one GitHub
 * source's pushes to main to one service and its issues to another. The decision is made
 * once, at the gateway, and stored with the request as its routes: a request that waits for
 * an earlier sequence is released later to the destinations it matched when it came, and the
 * request log can say where it went and why not elsewhere.
 */

/** A destination's name in a request's routes: an HTTP destination's endpoint id, `app:<app>:<eventType>` for an app destination. */
export const routeKey = (d: SourceDestination): string => (d.type === 'http' ? d.endpointId : `${APP_ROUTE}${d.app}:${d.eventType}`);

export type QueryValues = Record<string, string | string[] | undefined>;

/** What a destination's filter sees of a request. */
export interface RequestDocument {
  headers: Record<string, string>;
  /** parsed JSON, the fields of a form-encoded body, or else the body as text */
  body: unknown;
  query: Record<string, string | string[]>;
}

export function requestDocument(view: RequestView, query: QueryValues = {}): RequestDocument {
  const parsed = view.json();
  // No prototype: a parameter named __proto__ is a parameter like any other.
  const q: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q[k] = v;
  return { headers: view.headers, body: parsed === undefined ? view.body.toString('utf8') : parsed, query: q };
}

export interface Routing {
  /** route keys of the destinations that get the request */
  routes: string[];
  /** of them, the HTTP destinations' endpoint ids */
  endpointIds: string[];
}

export class SourceRouter {
  private constructor(private readonly destinations: Array<{ d: SourceDestination; key: string; match: CompiledFilter | null }>) {}

  /** The source's router, compiled once per configuration; null when no destination filters (every one gets every request). */
  static of(source: Source): SourceRouter | null {
    if (!source.destinations.some((d) => d.filter)) return null;
    return new SourceRouter(source.destinations.map((d) => ({ d, key: routeKey(d), match: d.filter ? compileStoredFilter(d.filter) : null })));
  }

  route(doc: RequestDocument): Routing {
    // The filters share what they find at each path of this request (see compileFilter).
    const shared = new Map<string, unknown[]>();
    const routes = new Set<string>();
    const endpointIds = new Set<string>();
    for (const { d, key, match } of this.destinations) {
      if (match && !match(doc, shared)) continue;
      routes.add(key);
      if (d.type === 'http') endpointIds.add(d.endpointId);
    }
    return { routes: [...routes], endpointIds: [...endpointIds] };
  }
}

/** Each destination's verdict on a request, with the first failed condition: the "why didn't it get it" of the source page. */
export function explainRouting(source: Source, doc: RequestDocument): Array<{ destination: string; matches: boolean; reasons: FilterReason[] }> {
  return source.destinations.map((d) => {
    if (!d.filter) return { destination: routeKey(d), matches: true, reasons: [] };
    return { destination: routeKey(d), ...compileStoredFilter(d.filter).explain(doc) };
  });
}
