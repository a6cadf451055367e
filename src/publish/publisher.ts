import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { RE2JS } from 're2js';
import { exampleFromSchema } from '../core/example.js';
import { eventData, renderEvent } from './shape.js';
import { compileStoredFilter, type CompiledFilter } from '../core/filter.js';
import { subscribes } from '../core/match.js';
import { HeraldError } from '../errors.js';
import { newId } from '../ids.js';
import type { Metrics } from '../metrics.js';
import { parseTime } from '../core/time.js';
import type { App, ClaimedDelivery, Endpoint, EventType, NewEvent, PublishLease, PublishResult, Store } from '../store/types.js';

/** The delivery worker of this process, when there is one (see DeliveryWorker.reserve). */
export interface Handoff {
  reserve(max: number): PublishLease | null;
  accept(reserved: number, deliveries: ClaimedDelivery[]): void;
  notify(): void;
}

export interface PublishInput {
  type: string;
  /** sent in the app's envelope; exactly one of data and payload */
  data?: Record<string, unknown>;
  /** sent as the whole body, as given (see shape.ts) */
  payload?: unknown;
  /** the app's envelopeProfile.extra fields */
  fields?: Record<string, unknown>;
  id?: string;
  timestamp?: string;
  orderingKey?: string;
  channels?: string[];
}

/** What an endpoint's filter sees: the envelope its receiver gets (less `sequence`), plus the event's channels. */
export interface FilterEnvelope {
  id: string;
  type: string;
  timestamp: string;
  data: unknown;
  channels: string[];
}

/** Channels: an endpoint without any takes every event; one with some, events sharing one. */
export function sharesChannel(endpoint: readonly string[] | null, event: readonly string[]): boolean {
  if (endpoint === null || endpoint.length === 0) return true;
  for (const c of event) if (endpoint.includes(c)) return true;
  return false;
}

/**
 * `pattern` and `patternProperties` in event-type schemas run on RE2 (re2js: linear time),
 * never on the backtracking RegExp: `^(a+)+$` against 28 a's and a `!` blocked the process
 * for 1.6 s, twice as long per extra character. A pattern RE2 can't run (backreferences,
 * lookaround) is refused when the schema is saved.
 */
const linearRegExp = Object.assign(
  (pattern: string) => {
    let re: RE2JS;
    try {
      re = RE2JS.compile(pattern);
    } catch (err) {
      throw new Error(`pattern ${JSON.stringify(pattern)} can't be used (only what runs in linear time is: no backreferences or lookaround): ${(err as Error).message}`);
    }
    return { test: (s: string) => re.test(s) };
  },
  { code: 'linearRegExp' },
);

/**
 * Turns API input into stored events: checks payloads against their event type's schema,
 * builds the exact bytes receivers will get, and picks the subscribed endpoints. The store
 * then writes events and deliveries in one transaction; only after that commits does the
 * API answer 202.
 */
export class Publisher {
  /** checks that a schema is one (the meta-schema check); compiling happens elsewhere, see compileSchema */
  private readonly meta = new Ajv.default({ allErrors: true, strict: false });
  private readonly validators = new Map<string, { updatedAt: number; validate: ValidateFunction }>();
  /** endpoint id → its filter compiled, for the endpoint version (updatedAt) it was compiled from */
  private readonly filters = new Map<string, { updatedAt: number; match: CompiledFilter }>();

  constructor(
    private readonly store: Store,
    private readonly maxPayloadBytes: number,
    private readonly metrics: Metrics,
    private readonly worker: Handoff | null,
  ) {}

  /**
   * Compiles a schema, or explains why it can't be used (422). Each in an Ajv instance of its
   * own: an instance keeps every schema it compiled, refuses an `$id` it has seen (so a type
   * whose schema has one could be compiled once per process) and would let one type's schema
   * `$ref` another's. The meta-schema check, the costly part of a new instance, stays shared.
   */
  compileSchema(schema: Record<string, unknown>): ValidateFunction {
    try {
      if (!this.meta.validateSchema(schema)) throw new Error(this.meta.errorsText(this.meta.errors, { dataVar: 'schema' }));
      return addFormats.default(new Ajv.default({ allErrors: true, strict: false, meta: false, validateSchema: false, code: { regExp: linearRegExp } })).compile(schema);
    } catch (err) {
      throw new HeraldError('invalid_schema', `schema is not a valid JSON Schema: ${(err as Error).message}`);
    }
  }

  async publish(app: App, inputs: PublishInput[], idempotencyKey?: string): Promise<PublishResult[]> {
    if (app.sourceId) {
      // Its events are the source's requests, numbered apart from an app's own publishes.
      throw new HeraldError('conflict', `app '${app.id}' forwards for source '${app.sourceId}': it takes only what the source accepts`, { sourceId: app.sourceId });
    }
    const now = Date.now();
    const [endpoints, types] = await Promise.all([
      this.store.activeEndpoints(app.id),
      this.eventTypes(inputs.map((i) => i.type)),
    ]);
    const events = inputs.map((input, index) => {
      const where = inputs.length > 1 ? `events[${index}]` : 'event';
      const type = types.get(input.type);
      const data = eventData(app.envelopeProfile, input, where);
      if (type?.schema) this.validate(type, data, where);
      const id = input.id ?? newId('evt', now);
      const timestamp = input.timestamp ? parseTime(input.timestamp, `${where}.timestamp`) : now;
      const render = renderEvent(app.envelopeProfile, input, { id, type: input.type, timestamp, data });
      if (render.maxBytes > this.maxPayloadBytes) {
        throw new HeraldError('payload_too_large', `${where} is larger than the ${this.maxPayloadBytes}-byte payload limit`, { index });
      }
      const channels = input.channels?.length ? [...new Set(input.channels)] : [];
      let envelope: FilterEnvelope | undefined;
      let shared: Map<string, unknown[]> | undefined;
      const endpointIds: string[] = [];
      for (const e of endpoints) {
        if (!subscribes(e.events, input.type) || !sharesChannel(e.channels, channels)) continue;
        if (e.filter) {
          envelope ??= { id, type: input.type, timestamp: new Date(timestamp).toISOString(), data, channels };
          // The endpoints' filters share what they find at each path of this event.
          shared ??= new Map();
          if (!this.filterOf(e)(envelope, shared)) continue;
        }
        endpointIds.push(e.id);
      }
      return {
        id, type: input.type, timestamp, render, idGenerated: input.id === undefined, orderingKey: input.orderingKey ?? null,
        idempotencyKey: idempotencyKey ? (inputs.length > 1 ? `${idempotencyKey}:${index}` : idempotencyKey) : null,
        channels, endpointIds,
      };
    });
    const results = await this.commit(app, events, now, endpoints);
    const created = results.filter((r) => r.created).length;
    if (created > 0) this.metrics.eventsPublished.inc(created);
    return results;
  }

  /** Writes the events; deliveries the local worker has room for go to it directly. */
  private async commit(app: App, events: NewEvent[], now: number, endpoints: readonly Endpoint[]): Promise<PublishResult[]> {
    const total = events.reduce((n, e) => n + e.endpointIds.length, 0);
    const lease = total > 0 && this.worker ? this.worker.reserve(total) : null;
    let results: PublishResult[];
    try {
      results = await this.store.publish(app.id, events, now, lease ?? undefined);
    } catch (err) {
      if (lease) this.worker!.accept(lease.limit, []);
      throw err;
    }
    if (!this.worker) return results;
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    const handed: ClaimedDelivery[] = [];
    results.forEach((r, i) => {
      for (const j of r.leased) {
        handed.push({
          id: r.deliveryIds[j], appId: app.id, eventId: r.event.id, eventType: r.event.type, orderingKey: r.event.orderingKey,
          attemptCount: 0, oneShot: false, body: r.event.body, headers: null, endpoint: byId.get(events[i].endpointIds[j])!,
          profile: app.signatureProfile,
        });
      }
    });
    if (lease) this.worker.accept(lease.limit, handed);
    // Deliveries beyond the hand-off are due in the database: wake the claim loop for them.
    if (results.some((r) => r.deliveryIds.length > r.leased.length)) this.worker.notify();
    return results;
  }

  /** The "Test webhook" button: a `webhook.test` event delivered to one endpoint only. */
  /**
   * A test event to this endpoint only: `webhook.test`, or an event of a catalogue type with the
   * given data (checked against its schema), else its first example, else one made from its schema.
   */
  async sendTest(app: App, endpoint: Endpoint, test: { eventType?: string; data?: Record<string, unknown> } = {}): Promise<PublishResult> {
    const now = Date.now();
    const id = newId('evt', now);
    const timestamp = new Date(now).toISOString();
    let type = 'webhook.test';
    let data: unknown = { message: 'This is a test webhook delivery from Herald', endpointId: endpoint.id, timestamp };
    if (test.eventType) {
      const t = await this.store.getEventType(test.eventType);
      if (!t) throw new HeraldError('unknown_event_type', `event type '${test.eventType}' is not in the catalogue`);
      type = t.name;
      data = test.data ?? t.examples[0] ?? (t.schema ? exampleFromSchema(t.schema) : {});
      if (test.data && t.schema) this.validate(t, test.data, 'test');
    } else if (test.data) {
      data = test.data;
    }
    const [result] = await this.commit(app, [{
      id, type, timestamp: now, idempotencyKey: null, idGenerated: true, endpointIds: [endpoint.id],
      orderingKey: null, render: renderEvent(app.envelopeProfile, {}, { id, type, timestamp: now, data }),
    }], now, [endpoint]);
    return result;
  }

  /**
   * The endpoint's filter, compiled once per endpoint version: updatedAt moves on every change
   * of the endpoint, so a cached matcher is never stale and no event parses a filter. A filter
   * saved through the API always compiles; one that doesn't (written around it) matches nothing.
   */
  filterOf(e: Endpoint): CompiledFilter {
    let cached = this.filters.get(e.id);
    if (!cached || cached.updatedAt !== e.updatedAt) {
      const match = compileStoredFilter(e.filter);
      // Deleted endpoints leave entries behind: start over rather than grow without bound.
      if (this.filters.size >= 50_000) this.filters.clear();
      cached = { updatedAt: e.updatedAt, match };
      this.filters.set(e.id, cached);
    }
    return cached.match;
  }

  private async eventTypes(names: string[]): Promise<Map<string, EventType>> {
    const out = new Map<string, EventType>();
    for (const name of new Set(names)) {
      const t = await this.store.getEventType(name);
      if (t) out.set(name, t);
    }
    return out;
  }

  private validate(type: EventType, data: unknown, where: string): void {
    let cached = this.validators.get(type.name);
    if (!cached || cached.updatedAt !== type.updatedAt) {
      cached = { updatedAt: type.updatedAt, validate: this.compileSchema(type.schema!) };
      this.validators.set(type.name, cached);
    }
    if (!cached.validate(data)) {
      throw new HeraldError('schema_validation_failed', `${where}.data does not match the schema of event type '${type.name}'`, {
        errors: (cached.validate.errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'invalid' })),
      });
    }
  }
}
