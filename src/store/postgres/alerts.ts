import { idAtTime, newId } from '../../ids.js';
import {
  ALERTS_APP_ID, type AlertEndpointState, type AlertHistoryEntry, type AlertNotification, type AlertRule, type AlertRulePatch,
  type AlertStore, type AlertTransition, type AttemptFigure, type FailureFigure, type NewAlertRule,
  type PollFigure,
} from '../alerts.js';
import { sealChannels, toAlertHistory, toAlertNotification, toAlertRule, toPollFigure } from '../alert-rows.js';
import { toPage } from '../page.js';
import type { Page, PageQuery } from '../types.js';
import { PostgresPoll } from './poll.js';
import { compile, type StatementName } from './sql.js';

/**
 * poll_failures: each source's run of failed polls and the last run's error, for every source
 * that polls (:all) and the sources rules name (:source_ids), in one statement along the
 * primary keys. Kept here rather than in sql.ts; a named prepared statement like those.
 */
const ALERT_POLL_FIGURES = compile('alertPollFigures' as StatementName, `SELECT s.id AS source_id, s.name, s.poll IS NOT NULL AS polling,
         COALESCE(p.failures, 0) AS failures, p.last_result -> 'error' AS last_error,
         (p.last_result ->> 'retryAfterSeconds')::integer AS retry_after_seconds, p.last_poll_at, p.next_poll_at
       FROM sources s LEFT JOIN source_polls p ON p.source_id = s.id
       WHERE (:all::boolean AND s.poll IS NOT NULL) OR s.id = ANY(:source_ids::text[])
       ORDER BY s.id`);

/**
 * Alert rules, their history, the notification outbox and the figures of an evaluation round
 * (AlertStore), on PostgreSQL. Every worker process evaluates the rules; transitionAlert's
 * conditional UPDATE lets exactly one of them apply (and notify) each transition, and the
 * outbox is claimed with SKIP LOCKED, so each notification is sent by one process.
 */
export class PostgresAlerts extends PostgresPoll implements AlertStore {
  async createAlertRule(r: NewAlertRule, now: number): Promise<AlertRule> {
    const { rows } = await this.run('insertAlertRule', {
      id: newId('alr', now), name: r.name, app_id: r.appId, endpoint_id: r.endpointId, source_id: r.sourceId,
      condition: JSON.stringify(r.condition), channels: sealChannels(this.sealer, r.channels), repeat_seconds: r.repeatSeconds,
      enabled: r.enabled, created_by: r.createdBy, now,
    });
    return toAlertRule(rows[0], this.sealer);
  }

  async getAlertRule(id: string): Promise<AlertRule | null> {
    const { rows } = await this.run('alertRule', { id });
    return rows[0] ? toAlertRule(rows[0], this.sealer) : null;
  }

  async listAlertRules(q: PageQuery & { appId?: string }): Promise<Page<AlertRule>> {
    const { rows } = await this.run('listAlertRules', { after: q.iterator ?? '', app_id: q.appId ?? null, limit: q.limit + 1 });
    return toPage(rows.map((r) => toAlertRule(r, this.sealer)), q.limit, (a) => a.id, q.iterator);
  }

  async updateAlertRule(id: string, patch: AlertRulePatch, now: number): Promise<AlertRule | null> {
    return this.tx(async (run) => {
      const { rows } = await run('alertRule', { id });
      if (!rows[0]) return null;
      const cur = toAlertRule(rows[0], this.sealer);
      const next = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as AlertRule;
      const reset = (patch.condition !== undefined && JSON.stringify(patch.condition) !== JSON.stringify(cur.condition)) || !next.enabled;
      const updated = await run('updateAlertRule', {
        id, name: next.name, condition: JSON.stringify(next.condition), channels: sealChannels(this.sealer, next.channels),
        repeat_seconds: next.repeatSeconds, enabled: next.enabled, reset, now,
      });
      return updated.rows[0] ? toAlertRule(updated.rows[0], this.sealer) : null;
    });
  }

  async deleteAlertRule(id: string): Promise<boolean> {
    return ((await this.run('deleteAlertRule', { id })).rowCount ?? 0) > 0;
  }

  async alertHistory(id: string): Promise<AlertHistoryEntry[]> {
    return (await this.run('alertHistory', { id })).rows.map(toAlertHistory);
  }

  async ensureAlertsApp(now: number): Promise<string> {
    await this.run('ensureAlertsApp', { id: ALERTS_APP_ID, now });
    return ALERTS_APP_ID;
  }

  async enabledAlertRules(): Promise<AlertRule[]> {
    return (await this.run('enabledAlertRules')).rows.map((r) => toAlertRule(r, this.sealer));
  }

  async alertEndpoints(q: { all: boolean; appIds: string[]; endpointIds: string[] }): Promise<AlertEndpointState[]> {
    const { rows } = await this.run('alertEndpoints', { alerts_app: ALERTS_APP_ID, all: q.all, app_ids: q.appIds, endpoint_ids: q.endpointIds });
    return rows.map((r) => ({
      id: r.id, appId: r.app_id, appName: r.app_name, url: r.url, status: r.status, disabledReason: r.disabled_reason,
      disabledAt: r.disabled_at, consecutiveFailures: r.consecutive_failures,
    }));
  }

  async alertAttemptFigures(watch: Array<{ endpointId: string; since: number }>, now: number): Promise<AttemptFigure[]> {
    if (watch.length === 0) return [];
    const { rows } = await this.run('alertAttemptFigures', { endpoint_ids: watch.map((w) => w.endpointId), sinces: watch.map((w) => w.since), now });
    return rows.map((r) => ({ endpointId: r.endpoint_id, since: Number(r.since), statusCode: r.status_code, ms: Number(r.ms), n: Number(r.n) }));
  }

  async alertQueueFigures(endpointIds: string[]): Promise<Array<{ endpointId: string; waiting: number; oldestAt: number }>> {
    if (endpointIds.length === 0) return [];
    const { rows } = await this.run('alertQueueFigures', { endpoint_ids: endpointIds });
    return rows.map((r) => ({ endpointId: r.endpoint_id, waiting: Number(r.waiting), oldestAt: Number(r.oldest_at) }));
  }

  async alertSources(): Promise<Array<{ id: string; name: string }>> {
    return (await this.run<{ id: string; name: string }>('alertSources')).rows;
  }

  async alertRejectionFigures(watch: Array<{ sourceId: string; since: number }>) {
    if (watch.length === 0) return [];
    const { rows } = await this.run('alertRejectionFigures', {
      source_ids: watch.map((w) => w.sourceId), sinces: watch.map((w) => w.since), since_ids: watch.map((w) => idAtTime('req', w.since)),
    });
    return rows.map((r) => ({ sourceId: r.source_id, since: Number(r.since), n: Number(r.n), name: r.name }));
  }

  async alertPollFigures(q: { all: boolean; sourceIds: string[] }): Promise<PollFigure[]> {
    if (!q.all && q.sourceIds.length === 0) return [];
    const params: Record<string, unknown> = { all: q.all, source_ids: q.sourceIds };
    const { rows } = await this.pool.query({ name: ALERT_POLL_FIGURES.name, text: ALERT_POLL_FIGURES.text, values: ALERT_POLL_FIGURES.params.map((p) => params[p]) });
    return rows.map(toPollFigure);
  }

  async alertFailureBreakdown(endpointIds: string[], since: number, now: number): Promise<FailureFigure[]> {
    if (endpointIds.length === 0) return [];
    const { rows } = await this.run('alertFailureBreakdown', { endpoint_ids: endpointIds, since, now });
    return rows.map((r) => ({ endpointId: r.endpoint_id, statusCode: r.status_code, error: r.error, n: Number(r.n) }));
  }

  async transitionAlert(t: AlertTransition): Promise<boolean> {
    return this.tx(async (run) => {
      const won = await run('transitionAlertRule', {
        id: t.ruleId, to: t.kind === 'resolved' ? 'ok' : 'firing', state: t.seen.state, updated_at: t.seen.updatedAt,
        last_notified_at: t.seen.lastNotifiedAt, value: t.value, now: t.now,
      });
      if (won.rows.length === 0) return false;
      await run('insertAlertHistory', {
        rule_id: t.ruleId, at: t.now, kind: t.kind, value: t.value, threshold: t.threshold, summary: t.summary, figures: JSON.stringify(t.figures),
      });
      await run('pruneAlertHistory', { rule_id: t.ruleId });
      for (const n of t.notifications) {
        await run('insertAlertNotification', {
          id: newId('ntf', t.now), rule_id: t.ruleId, channel: this.sealer.seal(JSON.stringify(n.channel)), message: JSON.stringify(n.message), now: t.now,
        });
      }
      return true;
    });
  }

  async claimAlertNotifications(now: number, leaseUntil: number, limit: number): Promise<AlertNotification[]> {
    const { rows } = await this.run('claimAlertNotifications', { now, lease_until: leaseUntil, limit });
    return rows.map((r) => toAlertNotification(r, this.sealer));
  }

  async finishAlertNotification(id: string, result: { sent: true } | { sent: false; error: string; retryAt: number | null }): Promise<void> {
    if (result.sent) await this.run('deleteAlertNotification', { id });
    else await this.run('failAlertNotification', { id, retry_at: result.retryAt, error: result.error });
  }
}
