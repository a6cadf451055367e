import { createHash } from 'node:crypto';
import { jsonProblem, MAX_JSON_DEPTH } from '../core/json.js';
import { HeraldError } from '../errors.js';

/**
 * Where a source finds a value in a request: `header:<name>`, `body:$.path` (JSON, or the
 * fields of a form-encoded body), `hash` (SHA-256 of the raw bytes: the seed's "stateless
 * idempotency") or `id` (the delivery id the signature scheme carries, e.g. webhook-id or
 * x-github-delivery). The same syntax serves dedup keys, ordering keys, sequences and the
 * event type of app destinations.
 */
export const SELECTOR_PATTERN = '^(header:[A-Za-z0-9!#$%&\'*+.^_`|~-]+|body:\\$(\\.[A-Za-z0-9_-]+|\\[\\d+\\])+|hash|id)$';
const SELECTOR = new RegExp(SELECTOR_PATTERN);

export function isSelector(s: string): boolean {
  return SELECTOR.test(s);
}

/** A received request as the selectors see it; the body is parsed at most once, only if needed. */
export class RequestView {
  private parsed: unknown = undefined;
  private parsedDone = false;

  constructor(
    readonly headers: Record<string, string>,
    readonly body: Buffer,
    readonly contentType: string | null,
    /** the scheme's delivery id, once verified (a function: it may need the parsed body) */
    public schemeId: () => string | undefined = () => undefined,
  ) {}

  /** The body as JSON (or form fields); undefined when it is neither. */
  json(): unknown {
    if (!this.parsedDone) {
      this.parsedDone = true;
      const text = this.body.toString('utf8');
      if (this.contentType?.startsWith('application/x-www-form-urlencoded')) {
        this.parsed = Object.fromEntries(new URLSearchParams(text));
      } else {
        try {
          this.parsed = JSON.parse(text);
        } catch {
          this.parsed = undefined;
        }
      }
    }
    return this.parsed;
  }

  /**
   * The selected value as a string, or null when the request doesn't have it. An object or
   * array is its JSON text; one nested too deep for that is the provider's 422, not a
   * RangeError from JSON.stringify (no API key needed to send one).
   */
  select(selector: string): string | null {
    if (selector === 'hash') return createHash('sha256').update(this.body).digest('hex');
    if (selector === 'id') return this.schemeId() ?? null;
    if (selector.startsWith('header:')) return this.headers[selector.slice(7).toLowerCase()] ?? null;
    if (selector.startsWith('body:$')) {
      const value = walk(this.json(), selector.slice(6));
      if (value === undefined || value === null) return null;
      if (typeof value !== 'object') return String(value);
      if (jsonProblem(value)) {
        throw new HeraldError('payload_too_deep', `${selector} selects a value nested more than ${MAX_JSON_DEPTH} levels deep`, { maxDepth: MAX_JSON_DEPTH });
      }
      return JSON.stringify(value);
    }
    return null;
  }

  /**
   * The selected value as a dedup or ordering key: as it is, unless it is longer than
   * KEY_MAX_LENGTH or holds a NUL character, then `sha256:` and its hash. Keys are stored and
   * indexed: PostgreSQL's text can't hold NUL and its index entries are bounded, and a
   * provider's field can be anything.
   */
  selectKey(selector: string): string | null {
    const raw = this.select(selector);
    if (raw === null || (raw.length <= KEY_MAX_LENGTH && !raw.includes('\u0000'))) return raw;
    return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  }

  /** An integer sequence number, or null when absent or not an integer. */
  selectInteger(selector: string): number | null {
    const raw = this.select(selector);
    if (raw === null || !/^-?\d{1,15}$/.test(raw.trim())) return null;
    return Number(raw);
  }
}

/** Dedup and ordering keys longer than this are stored as their hash (see selectKey). */
export const KEY_MAX_LENGTH = 200;

/** Follows `.name` and `[index]` steps. */
function walk(value: unknown, path: string): unknown {
  const steps = path.match(/\.[A-Za-z0-9_-]+|\[\d+\]/g) ?? [];
  let cur = value;
  for (const step of steps) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const k = step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1);
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}
