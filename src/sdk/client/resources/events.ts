import type { PageList } from '../pages.js';
import type { Transport } from '../transport.js';
import type { BatchPublished, Event, EventDetail, EventIn, EventListQuery, Published } from '../types.js';

export interface PublishOptions {
  /**
   * Makes the publish safe to repeat: Herald keeps the first event published with a key and
   * answers later ones with it. Generated when absent, and the same on every retry of a call.
   */
  idempotencyKey?: string;
}

const newKey = () => globalThis.crypto.randomUUID();

/** Publishing, and the event feed of an app. */
export class Events {
  constructor(private readonly t: Transport) {}

  /**
   * Resolves once the event and its deliveries are stored. Network errors, 429 and 5xx are
   * retried with the same Idempotency-Key, so a retry never makes a second event.
   */
  publish(app: string, event: EventIn, options: PublishOptions = {}): Promise<Published> {
    const key = options.idempotencyKey ?? newKey();
    return this.t.call('publishEvent', { params: { app }, body: event, headers: { 'idempotency-key': key }, retry: true });
  }
  /** up to 1,000 events in one transaction; retried like `publish` */
  publishBatch(app: string, events: EventIn[], options: PublishOptions = {}): Promise<BatchPublished> {
    const key = options.idempotencyKey ?? newKey();
    return this.t.call('publishEvents', { params: { app }, body: { events }, headers: { 'idempotency-key': key }, retry: true });
  }
  /** in sequence order; keep the last page's iterator to poll for what comes next */
  list(app: string, query: EventListQuery = {}): PageList<Event> {
    return this.t.list<Event>('listEvents', { app }, query);
  }
  /** with `endpointIds`: the endpoints it was fanned out to */
  get(app: string, id: string): Promise<EventDetail> {
    return this.t.call('getEvent', { params: { app, id }, retry: true });
  }
}
