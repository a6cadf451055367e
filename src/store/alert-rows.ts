import type { AlertChannel, AlertHistoryEntry, AlertNotification, AlertRule, PollFigure } from './alerts.js';
import type { Sealer } from './rows.js';

/** Alert rows → domain objects, shared by the backends (see rows.ts for the conventions). */
type Row = Record<string, any>;

const json = <T>(value: unknown, fallback: T): T =>
  value == null ? fallback : typeof value === 'string' ? (JSON.parse(value) as T) : (value as T);
const num = (v: unknown): number | null => (v == null ? null : Number(v));

/** A rule's channels, sealed as one value: Slack URLs are credentials, addresses personal data. */
export const sealChannels = (sealer: Sealer, channels: AlertChannel[]): string => sealer.seal(JSON.stringify(channels));
const openChannels = (sealer: Sealer, stored: string): AlertChannel[] => JSON.parse(sealer.open(stored)) as AlertChannel[];

export const toAlertRule = (r: Row, sealer: Sealer): AlertRule => {
  const c = json<Record<string, any>>(r.condition, {});
  return {
    id: r.id,
    name: r.name,
    appId: r.app_id ?? null,
    endpointId: r.endpoint_id ?? null,
    sourceId: r.source_id ?? null,
    condition: {
      metric: c.metric, op: c.op, threshold: c.threshold,
      windowSeconds: c.windowSeconds ?? null, minAttempts: c.minAttempts ?? null, olderThanSeconds: c.olderThanSeconds ?? null,
    },
    channels: openChannels(sealer, r.channels),
    repeatSeconds: r.repeat_seconds ?? null,
    enabled: r.enabled === 1 || r.enabled === true,
    state: r.state,
    lastTransitionAt: num(r.last_transition_at),
    lastNotifiedAt: num(r.last_notified_at),
    lastValue: num(r.last_value),
    createdBy: r.created_by === 'portal' ? 'portal' : 'operator',
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
};

export const toAlertHistory = (r: Row): AlertHistoryEntry => ({
  at: Number(r.at),
  kind: r.kind,
  value: num(r.value),
  threshold: Number(r.threshold),
  summary: r.summary,
  figures: json(r.figures, {}),
});

export const toAlertNotification = (r: Row, sealer: Sealer): AlertNotification => ({
  id: r.id,
  ruleId: r.rule_id,
  channel: JSON.parse(sealer.open(r.channel)) as AlertChannel,
  message: json(r.message, null as never),
  attempts: Number(r.attempts),
  createdAt: Number(r.created_at),
});

/** A row of alertPollFigures (both backends select the same columns; last_error is last_result's error). */
export const toPollFigure = (r: Row): PollFigure => ({
  sourceId: r.source_id,
  name: r.name,
  polling: r.polling === 1 || r.polling === true,
  failures: Number(r.failures ?? 0),
  lastError: json<PollFigure['lastError']>(r.last_error, null),
  retryAfterSeconds: num(r.retry_after_seconds),
  lastPollAt: num(r.last_poll_at),
  nextPollAt: num(r.next_poll_at),
});
