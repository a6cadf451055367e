import type { Logger } from 'pino';
import type { AlertKind, AlertRule } from '../store/alerts.js';
import type { Store } from '../store/types.js';
import {
  attemptWatch, decide, endpointScope, measure, pollWatch, queueWatch, rejectionWatch, windowSince, type Measurement, type RoundFigures,
} from './evaluate.js';
import { renderMessage } from './messages.js';

export interface AlertEngineOptions {
  store: Store;
  logger: Logger;
  /** HERALD_ALERT_INTERVAL_MS */
  intervalMs: number;
  /** Herald's base URL for dashboard links */
  baseUrl: () => string;
  /** notifications were queued: the outbox should look now */
  onQueued: () => void;
}

/**
 * The worker's alert loop: every intervalMs (and soon after kick(), e.g. when an endpoint was
 * auto-disabled) it reads the figures of every enabled rule in a constant number of
 * statements (rules, endpoints, then attempts / waiting deliveries / rejections / polls side by side)
 * and applies the transitions evaluate.ts decides. Each transition is conditional on the rule
 * being as read, so with several processes evaluating, each is notified once.
 */
export class AlertEngine {
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly o: AlertEngineOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Evaluate within ~50 ms rather than at the next interval (coalesced). */
  kick(): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.tick();
    }, 50);
    this.soon.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    await this.runOnce();
    if (this.again && !this.stopped) {
      this.again = false;
      await this.runOnce();
    }
  }

  /** One round; resolves to the number of transitions this process applied. Errors are logged, never thrown. */
  runOnce(now = Date.now()): Promise<number> {
    this.running ??= this.round(now)
      .catch((err) => {
        this.o.logger.error({ err }, 'alert evaluation failed');
        return 0;
      })
      .finally(() => (this.running = null));
    return this.running;
  }

  private async round(now: number): Promise<number> {
    const { store } = this.o;
    const rules = await store.enabledAlertRules();
    if (rules.length === 0) return 0;
    const scope = endpointScope(rules);
    const endpoints = scope.all || scope.appIds.length > 0 || scope.endpointIds.length > 0 ? await store.alertEndpoints(scope) : [];
    const needAllSources = rules.some((r) => r.condition.metric === 'source_rejections' && !r.sourceId);
    const [attempts, queue, rejections, polls] = await Promise.all([
      store.alertAttemptFigures(attemptWatch(rules, endpoints, now), now),
      store.alertQueueFigures(queueWatch(rules, endpoints)),
      (needAllSources ? store.alertSources() : Promise.resolve([]))
        .then((sources) => store.alertRejectionFigures(rejectionWatch(rules, sources, now))),
      store.alertPollFigures(pollWatch(rules)),
    ]);
    const figures: RoundFigures = { now, endpoints, attempts, queue, rejections, polls };
    let applied = 0;
    for (const rule of rules) {
      const m = measure(rule, figures);
      const kind = decide(rule, m, now);
      if (kind && (await this.apply(rule, kind, m, now))) applied++;
    }
    if (applied > 0) this.o.onQueued();
    return applied;
  }

  private async apply(rule: AlertRule, kind: AlertKind, m: Measurement, now: number): Promise<boolean> {
    const metric = rule.condition.metric;
    const failing = ['failed_deliveries', 'success_rate', 'consecutive_failures'].includes(metric) && kind !== 'resolved';
    const breakdown = failing && m.endpoints.length > 0
      ? await this.o.store.alertFailureBreakdown(m.endpoints.slice(0, 20).map((s) => s.endpoint.id), windowSince(rule, now), now)
      : [];
    const message = renderMessage(rule, { kind, measurement: m, breakdown, baseUrl: this.o.baseUrl(), now });
    const won = await this.o.store.transitionAlert({
      ruleId: rule.id, kind, now, value: m.value, threshold: rule.condition.threshold,
      seen: { state: rule.state, updatedAt: rule.updatedAt, lastNotifiedAt: rule.lastNotifiedAt },
      summary: message.text.split('\n')[0], figures: m.figures,
      notifications: rule.channels.map((channel) => ({ channel, message })),
    });
    if (won) this.o.logger.info({ ruleId: rule.id, kind, metric, value: m.value, threshold: rule.condition.threshold }, 'alert rule changed state');
    return won;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = null;
    await this.running;
  }
}
