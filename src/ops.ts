import type { Logger } from 'pino';
import type { Publisher } from './publish/publisher.js';
import type { App, AttemptOutcome, ClaimedDelivery, Endpoint, HealthChange, Store } from './store/types.js';

/**
 * Herald's operational webhooks: endpoint.disabled, endpoint.enabled, endpoint.failing and
 * delivery.exhausted, published as ordinary events into the operator's app, so they are
 * signed, retried and logged like any other. Nothing is said about the operator app's own
 * endpoints, which would otherwise report on themselves in a loop.
 */
export class OperatorNotifier {
  private app: Promise<App | null> | null = null;

  constructor(
    private readonly store: Store,
    private readonly publisher: Publisher,
    private readonly appKey: string,
    private readonly logger: Logger,
  ) {}

  private operatorApp(): Promise<App | null> {
    // Looked up until found, then kept: the app may be created after Herald starts.
    if (!this.app) {
      this.app = this.store.getApp(this.appKey).then((app) => {
        if (!app) {
          this.app = null;
          this.logger.warn({ app: this.appKey }, 'HERALD_OPERATOR_APP does not exist; operational webhook dropped');
        }
        return app;
      });
    }
    return this.app;
  }

  private emit(sourceAppId: string, type: string, id: string, data: Record<string, unknown>): void {
    void this.operatorApp()
      .then(async (app) => {
        if (!app || app.id === sourceAppId) return;
        await this.publisher.publish(app, [{ id, type, data }]);
      })
      .catch((err) => this.logger.error({ err, type }, 'publishing an operational webhook failed'));
  }

  healthChanged(changes: HealthChange[]): void {
    const now = new Date().toISOString();
    for (const c of changes) {
      const data = { appId: c.appId, endpointId: c.endpointId, consecutiveFailures: c.consecutiveFailures, failingSince: c.failingSince === null ? null : new Date(c.failingSince).toISOString() };
      if (c.kind === 'disabled') this.emit(c.appId, 'endpoint.disabled', `endpoint.disabled:${c.endpointId}:${Date.now()}`, { ...data, reason: c.reason, disabledAt: now });
      if (c.kind === 'failing') this.emit(c.appId, 'endpoint.failing', `endpoint.failing:${c.endpointId}:${c.failingSince ?? Date.now()}`, data);
    }
  }

  endpointEnabled(endpoint: Endpoint): void {
    this.emit(endpoint.appId, 'endpoint.enabled', `endpoint.enabled:${endpoint.id}:${endpoint.updatedAt}`, {
      appId: endpoint.appId, endpointId: endpoint.id, url: endpoint.url, enabledAt: new Date(endpoint.updatedAt).toISOString(),
    });
  }

  deliveryExhausted(d: ClaimedDelivery, outcome: AttemptOutcome): void {
    this.emit(d.appId, 'delivery.exhausted', `delivery.exhausted:${d.id}:${outcome.attempt.number}`, {
      appId: d.appId, endpointId: d.endpoint.id, deliveryId: d.id, eventId: d.eventId, eventType: d.eventType,
      attempts: outcome.attempt.number, lastStatusCode: outcome.attempt.statusCode, lastError: outcome.attempt.error,
    });
  }
}
