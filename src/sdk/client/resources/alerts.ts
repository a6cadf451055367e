import type { PageList } from '../pages.js';
import type { Transport } from '../transport.js';
import type { AlertHistory, AlertRule, AlertRuleCreate, AlertRulePatch, AppAlertRuleCreate, PageQuery } from '../types.js';

/**
 * Alert rules: a condition over every app, one app, one endpoint or one source, and the
 * channels (email, Slack, webhook) told when it fires and resolves. `forApp(app)` is the same
 * for one app's rules, as its owner (or a portal session with manage_endpoints) sets them.
 */
export class AlertRules {
  constructor(private readonly t: Transport) {}

  /** a webhook channel's `secret` is returned only here */
  create(body: AlertRuleCreate): Promise<AlertRule> {
    return this.t.call('createAlertRule', { body });
  }
  list(query: PageQuery = {}): PageList<AlertRule> {
    return this.t.list<AlertRule>('listAlertRules', {}, query);
  }
  get(id: string): Promise<AlertRule> {
    return this.t.call('getAlertRule', { params: { id }, retry: true });
  }
  /** `channels` replaces the list; a webhook channel with the same endpointId (or URL) keeps its secret */
  update(id: string, body: AlertRulePatch): Promise<AlertRule> {
    return this.t.call('updateAlertRule', { params: { id }, body });
  }
  delete(id: string): Promise<void> {
    return this.t.call('deleteAlertRule', { params: { id } });
  }
  /** the last 100 transitions, newest first */
  history(id: string): Promise<AlertHistory> {
    return this.t.call('getAlertRuleHistory', { params: { id }, retry: true });
  }

  forApp(app: string): AppAlertRules {
    return new AppAlertRules(this.t, app);
  }
}

/** One app's alert rules (`/v1/apps/{app}/alert-rules`). */
export class AppAlertRules {
  constructor(private readonly t: Transport, private readonly app: string) {}

  create(body: AppAlertRuleCreate): Promise<AlertRule> {
    return this.t.call('createAppAlertRule', { params: { app: this.app }, body });
  }
  list(query: PageQuery = {}): PageList<AlertRule> {
    return this.t.list<AlertRule>('listAppAlertRules', { app: this.app }, query);
  }
  get(id: string): Promise<AlertRule> {
    return this.t.call('getAppAlertRule', { params: { app: this.app, id }, retry: true });
  }
  update(id: string, body: AlertRulePatch): Promise<AlertRule> {
    return this.t.call('updateAppAlertRule', { params: { app: this.app, id }, body });
  }
  delete(id: string): Promise<void> {
    return this.t.call('deleteAppAlertRule', { params: { app: this.app, id } });
  }
  history(id: string): Promise<AlertHistory> {
    return this.t.call('getAppAlertRuleHistory', { params: { app: this.app, id }, retry: true });
  }
}
