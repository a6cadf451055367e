/**
 * The alerts half of the storage seam: alert rules (thresholds people set on their
 * endpoints, apps or sources), the last transitions of each (its history), an outbox of
 * notifications to send by email, Slack or webhook, and the figures a round of evaluation
 * reads, for every enabled rule at once.
 *
 * A rule's channels are stored sealed like endpoint secrets: a Slack incoming-webhook URL is a
 * credential, and email addresses are personal data.
 */
import type { Page, PageQuery } from './types.js';

export type AlertMetric =
  | 'failed_deliveries' | 'success_rate' | 'response_time_p95' | 'consecutive_failures'
  | 'queue_depth' | 'endpoint_disabled' | 'source_rejections' | 'poll_failures';
export type AlertOp = '>' | '>=' | '<' | '<=';
export type AlertState = 'ok' | 'firing';

export interface AlertCondition {
  metric: AlertMetric;
  op: AlertOp;
  threshold: number;
  /** windowed metrics (failed_deliveries, success_rate, response_time_p95, source_rejections); null otherwise */
  windowSeconds: number | null;
  /** success_rate, response_time_p95: fewer attempts in the window than this judge nothing */
  minAttempts: number | null;
  /** queue_depth: the oldest waiting delivery must be older than this too */
  olderThanSeconds: number | null;
}

/** A webhook channel is an endpoint of Herald's internal alerts app (ALERTS_APP_ID): signed, retried, logged. */
export type AlertChannel =
  | { type: 'email'; to: string[] }
  | { type: 'slack'; url: string }
  | { type: 'webhook'; url: string; endpointId: string };

export interface AlertRule {
  id: string;
  name: string;
  appId: string | null;
  endpointId: string | null;
  sourceId: string | null;
  condition: AlertCondition;
  channels: AlertChannel[];
  repeatSeconds: number | null;
  enabled: boolean;
  state: AlertState;
  lastTransitionAt: number | null;
  /** last notification (transition or reminder), for repeatSeconds */
  lastNotifiedAt: number | null;
  /** the value of the last evaluation that changed something */
  lastValue: number | null;
  /** set with the API key or the console ('operator'), or by a customer in the portal */
  createdBy: 'operator' | 'portal';
  createdAt: number;
  updatedAt: number;
}

export type NewAlertRule = Pick<AlertRule, 'name' | 'appId' | 'endpointId' | 'sourceId' | 'condition' | 'channels' | 'repeatSeconds' | 'enabled' | 'createdBy'>;
export type AlertRulePatch = Partial<Pick<AlertRule, 'name' | 'condition' | 'channels' | 'repeatSeconds' | 'enabled'>>;

export type AlertKind = 'firing' | 'resolved' | 'reminder';

export interface AlertHistoryEntry {
  at: number;
  kind: AlertKind;
  value: number | null;
  threshold: number;
  /** the notification's text */
  summary: string;
  /** the figures that caused it */
  figures: Record<string, unknown>;
}

/** What one channel gets for one transition, rendered at transition time. */
export interface AlertMessage {
  subject: string;
  text: string;
  slack: { text: string; blocks: unknown[] };
  /** the webhook channel's event */
  event: { type: 'alert.firing' | 'alert.resolved'; data: Record<string, unknown> };
}

export interface AlertNotification {
  id: string;
  ruleId: string;
  channel: AlertChannel;
  message: AlertMessage;
  /** attempts so far, this one included */
  attempts: number;
  createdAt: number;
}

/**
 * A state change (or a reminder) decided from one round's figures. It is applied only if the
 * rule is still as read (state, updated_at, for a reminder last_notified_at): with several
 * processes evaluating the same rules, exactly one applies each transition and queues its
 * notifications, in the same transaction.
 */
export interface AlertTransition {
  ruleId: string;
  kind: AlertKind;
  /** the rule as the decision read it */
  seen: { state: AlertState; updatedAt: number; lastNotifiedAt: number | null };
  value: number | null;
  threshold: number;
  summary: string;
  figures: Record<string, unknown>;
  notifications: Array<{ channel: AlertChannel; message: AlertMessage }>;
  now: number;
}

/** What evaluation reads of an endpoint. */
export interface AlertEndpointState {
  id: string;
  appId: string;
  appName: string;
  url: string;
  status: 'active' | 'disabled';
  disabledReason: string | null;
  disabledAt: number | null;
  consecutiveFailures: number;
}

/** Attempts of one endpoint since `since` (up to the round's now), per status code and rounded duration. */
export interface AttemptFigure {
  endpointId: string;
  since: number;
  statusCode: number | null;
  /** duration rounded down to ≤10 % (exact below 100 ms) */
  ms: number;
  n: number;
}

export interface FailureFigure {
  endpointId: string;
  statusCode: number | null;
  error: string | null;
  n: number;
}

/** A source's polling as a round reads it (source_polls, and whether the source has `poll` configured). */
export interface PollFigure {
  sourceId: string;
  name: string;
  /** the source has a poll configuration now */
  polling: boolean;
  /** consecutive failed runs (source_polls.failures); 0 after a successful run, or never polled */
  failures: number;
  /** the last run's error (last_result.error), null after a successful run */
  lastError: { code: string; message: string; status?: number } | null;
  /** the Retry-After the provider gave on the last run, if it did */
  retryAfterSeconds: number | null;
  lastPollAt: number | null;
  /** null: due now (never polled), or a run is under way */
  nextPollAt: number | null;
}

export interface AlertStore {
  createAlertRule(r: NewAlertRule, now: number): Promise<AlertRule>;
  getAlertRule(id: string): Promise<AlertRule | null>;
  /** in id order; `appId` = that app's rules only */
  listAlertRules(q: PageQuery & { appId?: string }): Promise<Page<AlertRule>>;
  /** A changed condition or a disabled rule starts again from `ok` (without notifying). */
  updateAlertRule(id: string, patch: AlertRulePatch, now: number): Promise<AlertRule | null>;
  deleteAlertRule(id: string): Promise<boolean>;
  /** newest first, at most 100 */
  alertHistory(id: string): Promise<AlertHistoryEntry[]>;
  /** Creates Herald's internal alerts app if it doesn't exist yet; returns its id (ALERTS_APP_ID). */
  ensureAlertsApp(now: number): Promise<string>;

  enabledAlertRules(): Promise<AlertRule[]>;
  /** Endpoints (apart from the alerts app's own) of every app (`all`), of `appIds` and with `endpointIds`. */
  alertEndpoints(q: { all: boolean; appIds: string[]; endpointIds: string[] }): Promise<AlertEndpointState[]>;
  /** one statement: each (endpoint, since) pair read along attempts_endpoint_time, never the whole table */
  alertAttemptFigures(watch: Array<{ endpointId: string; since: number }>, now: number): Promise<AttemptFigure[]>;
  /** Deliveries waiting to be sent (not in flight), per endpoint, with the oldest's creation time. */
  alertQueueFigures(endpointIds: string[]): Promise<Array<{ endpointId: string; waiting: number; oldestAt: number }>>;
  /** every source's id and name, for rules over all sources */
  alertSources(): Promise<Array<{ id: string; name: string }>>;
  /** requests refused by each source (failed verification) received at or after `since` */
  alertRejectionFigures(watch: Array<{ sourceId: string; since: number }>): Promise<Array<{ sourceId: string; since: number; n: number; name: string }>>;
  /**
   * One statement: the polling of every source with `poll` configured (`all`) and of
   * `sourceIds` (whether they poll or not), with the last run's error; never-polled sources
   * count 0 failures.
   */
  alertPollFigures(q: { all: boolean; sourceIds: string[] }): Promise<PollFigure[]>;
  /** Failed attempts by status code and error, for the words of a notification (read only when one is sent). */
  alertFailureBreakdown(endpointIds: string[], since: number, now: number): Promise<FailureFigure[]>;
  /** Applies a transition if the rule is still as read; false if another process (or an edit) came first. */
  transitionAlert(t: AlertTransition): Promise<boolean>;

  /** Claims up to `limit` due notifications until `leaseUntil` (SKIP LOCKED on PostgreSQL). */
  claimAlertNotifications(now: number, leaseUntil: number, limit: number): Promise<AlertNotification[]>;
  /** sent: removed; retryAt: due again then; neither: given up, kept as failed with its error. */
  finishAlertNotification(id: string, result: { sent: true } | { sent: false; error: string; retryAt: number | null }): Promise<void>;
}

/** Herald's internal app holding the endpoints of alert rules' webhook channels; not listed among apps. */
export const ALERTS_APP_ID = 'app_herald_alerts';
