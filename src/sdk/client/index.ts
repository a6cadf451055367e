/**
 * herald-webhooks/client: a typed client for Herald's /v1 API. It needs nothing but `fetch`,
 * so it runs in Node ≥ 20, Bun, Deno, edge runtimes and browsers.
 *
 *   const herald = new HeraldClient({ url: 'https://hooks.example.com', apiKey });
 *   await herald.events.publish('acme', { type: 'person.created', data: { id: 1 } });
 *   for await (const d of herald.deliveries.list('acme', { status: 'failed' })) …
 */
import { AlertRules } from './resources/alerts.js';
import { Apps } from './resources/apps.js';
import { Deliveries } from './resources/deliveries.js';
import { Endpoints } from './resources/endpoints.js';
import { EventTypes } from './resources/event-types.js';
import { Events } from './resources/events.js';
import { Portal } from './resources/portal.js';
import { Sessions } from './resources/sessions.js';
import { Sources } from './resources/sources.js';
import { Transport, type ClientOptions } from './transport.js';

export class HeraldClient {
  readonly apps: Apps;
  readonly eventTypes: EventTypes;
  readonly endpoints: Endpoints;
  readonly events: Events;
  readonly deliveries: Deliveries;
  readonly sources: Sources;
  readonly portal: Portal;
  readonly sessions: Sessions;
  readonly alertRules: AlertRules;

  constructor(options: ClientOptions) {
    const t = new Transport(options);
    this.apps = new Apps(t);
    this.eventTypes = new EventTypes(t);
    this.endpoints = new Endpoints(t);
    this.events = new Events(t);
    this.deliveries = new Deliveries(t);
    this.sources = new Sources(t);
    this.portal = new Portal(t);
    this.sessions = new Sessions(t);
    this.alertRules = new AlertRules(t);
  }
}

export { HeraldApiError } from './errors.js';
export { PageList } from './pages.js';
export { ROUTES, type OperationId } from './routes.js';
export type { ClientOptions } from './transport.js';
export type { PublishOptions } from './resources/events.js';
export type * from './types.js';
