import type Database from 'better-sqlite3';
import { idAtTime, newId } from '../../ids.js';
import {
  ALERTS_APP_ID, type AlertEndpointState, type AlertHistoryEntry, type AlertNotification, type AlertRule, type AlertRulePatch,
  type AlertStore, type AlertTransition, type AttemptFigure, type FailureFigure, type NewAlertRule,
  type PollFigure,
} from '../alerts.js';
import { sealChannels, toAlertHistory, toAlertNotification, toAlertRule, toPollFigure } from '../alert-rows.js';
import { toPage } from '../page.js';
import type { Page, PageQuery } from '../types.js';
import { SqlitePoll } from './poll.js';

type Row = Record<string, any>;

/**
 * poll_failures: each source's run of failed polls and the last run's error, for every source
 * that polls (@all) and the sources rules name (@source_ids), in one statement. Along the
 * primary keys: sources (a handful of rows) and source_polls by source_id. Kept here rather
 * than in sql.ts, prepared on first use.
 */
const ALERT_POLL_FIGURES = `SELECT s.id AS source_id, s.name, s.poll IS NOT NULL AS polling, COALESCE(p.failures, 0) AS failures,
         json_extract(p.last_result, '$.error') AS last_error, json_extract(p.last_result, '$.retryAfterSeconds') AS retry_after_seconds,
         p.last_poll_at, p.next_poll_at
       FROM sources s LEFT JOIN source_polls p ON p.source_id = s.id
       WHERE (@all = 1 AND s.poll IS NOT NULL) OR s.id IN (SELECT value FROM json_each(@source_ids))
       ORDER BY s.id`;

/** Alert rules, their history, the notification outbox and the figures of an evaluation round (AlertStore), on SQLite. */
export class SqliteAlerts extends SqlitePoll implements AlertStore {
  private pollFigures: Database.Statement | null = null;

  async createAlertRule(r: NewAlertRule, now: number): Promise<AlertRule> {
    const row = this.s.insertAlertRule.get({
      id: newId('alr', now), name: r.name, app_id: r.appId, endpoint_id: r.endpointId, source_id: r.sourceId,
      condition: JSON.stringify(r.condition), channels: sealChannels(this.sealer, r.channels), repeat_seconds: r.repeatSeconds,
      enabled: r.enabled ? 1 : 0, created_by: r.createdBy, now,
    });
    return toAlertRule(row as Row, this.sealer);
  }

  async getAlertRule(id: string): Promise<AlertRule | null> {
    const row = this.s.alertRule.get({ id });
    return row ? toAlertRule(row as Row, this.sealer) : null;
  }

  async listAlertRules(q: PageQuery & { appId?: string }): Promise<Page<AlertRule>> {
    const rows = this.s.listAlertRules.all({ after: q.iterator ?? '', app_id: q.appId ?? null, limit: q.limit + 1 });
    return toPage(rows.map((r) => toAlertRule(r as Row, this.sealer)), q.limit, (a) => a.id, q.iterator);
  }

  async updateAlertRule(id: string, patch: AlertRulePatch, now: number): Promise<AlertRule | null> {
    return this.db.transaction(() => {
      const row = this.s.alertRule.get({ id });
      if (!row) return null;
      const cur = toAlertRule(row as Row, this.sealer);
      const next = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as AlertRule;
      const reset = (patch.condition !== undefined && JSON.stringify(patch.condition) !== JSON.stringify(cur.condition)) || !next.enabled;
      const updated = this.s.updateAlertRule.get({
        id, name: next.name, condition: JSON.stringify(next.condition), channels: sealChannels(this.sealer, next.channels),
        repeat_seconds: next.repeatSeconds, enabled: next.enabled ? 1 : 0, reset: reset ? 1 : 0, now,
      });
      return toAlertRule(updated as Row, this.sealer);
    }).immediate();
  }

  async deleteAlertRule(id: string): Promise<boolean> {
    return this.s.deleteAlertRule.run({ id }).changes > 0;
  }

  async alertHistory(id: string): Promise<AlertHistoryEntry[]> {
    return this.s.alertHistory.all({ id }).map((r) => toAlertHistory(r as Row));
  }

  async ensureAlertsApp(now: number): Promise<string> {
    this.s.ensureAlertsApp.run({ id: ALERTS_APP_ID, now });
    return ALERTS_APP_ID;
  }

  async enabledAlertRules(): Promise<AlertRule[]> {
    return this.s.enabledAlertRules.all().map((r) => toAlertRule(r as Row, this.sealer));
  }

  async alertEndpoints(q: { all: boolean; appIds: string[]; endpointIds: string[] }): Promise<AlertEndpointState[]> {
    const rows = this.s.alertEndpoints.all({
      alerts_app: ALERTS_APP_ID, all: q.all ? 1 : 0, app_ids: JSON.stringify(q.appIds), endpoint_ids: JSON.stringify(q.endpointIds),
    }) as Row[];
    return rows.map((r) => ({
      id: r.id, appId: r.app_id, appName: r.app_name, url: r.url, status: r.status, disabledReason: r.disabled_reason,
      disabledAt: r.disabled_at, consecutiveFailures: r.consecutive_failures,
    }));
  }

  async alertAttemptFigures(watch: Array<{ endpointId: string; since: number }>, now: number): Promise<AttemptFigure[]> {
    if (watch.length === 0) return [];
    const rows = this.s.alertAttemptFigures.all({ watch: JSON.stringify(watch.map((w) => ({ e: w.endpointId, s: w.since }))), now }) as Row[];
    return rows.map((r) => ({ endpointId: r.endpoint_id, since: r.since, statusCode: r.status_code, ms: r.ms, n: r.n }));
  }

  async alertQueueFigures(endpointIds: string[]): Promise<Array<{ endpointId: string; waiting: number; oldestAt: number }>> {
    if (endpointIds.length === 0) return [];
    const rows = this.s.alertQueueFigures.all({ endpoint_ids: JSON.stringify(endpointIds) }) as Row[];
    return rows.map((r) => ({ endpointId: r.endpoint_id, waiting: r.waiting, oldestAt: r.oldest_at }));
  }

  async alertSources(): Promise<Array<{ id: string; name: string }>> {
    return this.s.alertSources.all() as Array<{ id: string; name: string }>;
  }

  async alertRejectionFigures(watch: Array<{ sourceId: string; since: number }>) {
    if (watch.length === 0) return [];
    const rows = this.s.alertRejectionFigures.all({
      watch: JSON.stringify(watch.map((w) => ({ s: w.sourceId, t: w.since, i: idAtTime('req', w.since) }))),
    }) as Row[];
    return rows.map((r) => ({ sourceId: r.source_id, since: r.since, n: r.n, name: r.name }));
  }

  async alertPollFigures(q: { all: boolean; sourceIds: string[] }): Promise<PollFigure[]> {
    if (!q.all && q.sourceIds.length === 0) return [];
    this.pollFigures ??= this.db.prepare(ALERT_POLL_FIGURES);
    const rows = this.pollFigures.all({ all: q.all ? 1 : 0, source_ids: JSON.stringify(q.sourceIds) }) as Row[];
    return rows.map(toPollFigure);
  }

  async alertFailureBreakdown(endpointIds: string[], since: number, now: number): Promise<FailureFigure[]> {
    if (endpointIds.length === 0) return [];
    const rows = this.s.alertFailureBreakdown.all({ endpoint_ids: JSON.stringify(endpointIds), since, now }) as Row[];
    return rows.map((r) => ({ endpointId: r.endpoint_id, statusCode: r.status_code, error: r.error, n: r.n }));
  }

  async transitionAlert(t: AlertTransition): Promise<boolean> {
    return this.db.transaction(() => {
      const won = this.s.transitionAlertRule.get({
        id: t.ruleId, to: t.kind === 'resolved' ? 'ok' : 'firing', state: t.seen.state, updated_at: t.seen.updatedAt,
        last_notified_at: t.seen.lastNotifiedAt, value: t.value, now: t.now,
      });
      if (!won) return false;
      this.s.insertAlertHistory.run({
        rule_id: t.ruleId, at: t.now, kind: t.kind, value: t.value, threshold: t.threshold, summary: t.summary, figures: JSON.stringify(t.figures),
      });
      this.s.pruneAlertHistory.run({ rule_id: t.ruleId });
      for (const n of t.notifications) {
        this.s.insertAlertNotification.run({
          id: newId('ntf', t.now), rule_id: t.ruleId, channel: this.sealer.seal(JSON.stringify(n.channel)), message: JSON.stringify(n.message), now: t.now,
        });
      }
      return true;
    }).immediate();
  }

  async claimAlertNotifications(now: number, leaseUntil: number, limit: number): Promise<AlertNotification[]> {
    return this.s.claimAlertNotifications.all({ now, lease_until: leaseUntil, limit }).map((r) => toAlertNotification(r as Row, this.sealer));
  }

  async finishAlertNotification(id: string, result: { sent: true } | { sent: false; error: string; retryAt: number | null }): Promise<void> {
    if (result.sent) this.s.deleteAlertNotification.run({ id });
    else this.s.failAlertNotification.run({ id, retry_at: result.retryAt, error: result.error });
  }
}
