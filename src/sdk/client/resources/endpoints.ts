import type { PageList } from '../pages.js';
import type { Transport } from '../transport.js';
import type {
  Delivery, DeliveryListQuery, Endpoint, EndpointCreate, EndpointFilterTest, FilterTest, FilterTestResult, EndpointListQuery, EndpointPatch, EndpointStats, Recover, RotateSecret, TestEvent, Timeseries, TimeseriesQuery,
  TransformTest, TransformTestResult,
} from '../types.js';

/** Where an app's events go. `create` is the one call (with `secret`) that returns the signing secret. */
export class Endpoints {
  constructor(private readonly t: Transport) {}

  create(app: string, body: EndpointCreate): Promise<Endpoint & { secret: string }> {
    return this.t.call('createEndpoint', { params: { app }, body });
  }
  list(app: string, query: EndpointListQuery = {}): PageList<Endpoint> {
    return this.t.list<Endpoint>('listEndpoints', { app }, query);
  }
  get(app: string, ep: string): Promise<Endpoint> {
    return this.t.call('getEndpoint', { params: { app, ep }, retry: true });
  }
  /** `status: 'active'` re-enables a disabled endpoint and resumes its pending deliveries */
  update(app: string, ep: string, body: EndpointPatch): Promise<Endpoint> {
    return this.t.call('updateEndpoint', { params: { app, ep }, body });
  }
  delete(app: string, ep: string): Promise<void> {
    return this.t.call('deleteEndpoint', { params: { app, ep } });
  }
  secret(app: string, ep: string): Promise<{ secret: string }> {
    return this.t.call('getEndpointSecret', { params: { app, ep }, retry: true });
  }
  /** the old secret keeps signing for `graceSeconds` (default 24 h) */
  rotateSecret(app: string, ep: string, body: RotateSecret = {}): Promise<{ secret: string }> {
    return this.t.call('rotateEndpointSecret', { params: { app, ep }, body });
  }
  /** sends a test event to this endpoint only: `webhook.test`, or `body.eventType` with its example or `body.data` */
  test(app: string, ep: string, body?: TestEvent): Promise<{ eventId: string; deliveryId: string }> {
    return this.t.call('sendTestEvent', { params: { app, ep }, body });
  }
  /** would this endpoint get the event (an envelope, or a stored event by id)? `reasons` names the first condition that failed */
  testFilter(app: string, ep: string, body: EndpointFilterTest): Promise<FilterTestResult> {
    return this.t.call('testEndpointFilter', { params: { app, ep }, body });
  }
  /** what the endpoint would be sent for an event (its transform, or `body.transform`, run over it); a failing transform is a 422 transform_failed */
  testTransform(app: string, ep: string, body: TransformTest): Promise<TransformTestResult> {
    return this.t.call('testEndpointTransform', { params: { app, ep }, body });
  }
  /** a filter not yet saved against an envelope; a 422 invalid_filter says what is wrong where */
  testUnsavedFilter(body: FilterTest): Promise<FilterTestResult> {
    return this.t.call('testFilter', { params: {}, body });
  }
  /** re-sends every failed delivery created in [since, until) */
  recover(app: string, ep: string, body: Recover): Promise<{ requeued: number }> {
    return this.t.call('recoverEndpoint', { params: { app, ep }, body });
  }
  stats(app: string, ep: string): Promise<EndpointStats> {
    return this.t.call('getEndpointStats', { params: { app, ep }, retry: true });
  }
  /** attempts per time bucket by outcome, with p50/p95 response times (default: the last 24 h by minute) */
  timeseries(app: string, ep: string, query: TimeseriesQuery = {}): Promise<Timeseries> {
    return this.t.call('getEndpointTimeseries', { params: { app, ep }, query, retry: true });
  }
  /**
   * The WebSocket URL a relay listener connects to (with `Authorization: Bearer <key>`), as
   * `herald listen` does; see relay/protocol.ts for the messages.
   */
  relayUrl(app: string, ep: string): string {
    return this.t.url('connectRelay', { app, ep }).replace(/^http/, 'ws');
  }
  deliveries(app: string, ep: string, query: Omit<DeliveryListQuery, 'endpointId'> = {}): PageList<Delivery> {
    return this.t.list<Delivery>('listEndpointDeliveries', { app, ep }, query);
  }
}
