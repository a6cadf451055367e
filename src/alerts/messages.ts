import type { AlertKind, AlertMessage, AlertRule, FailureFigure } from '../store/alerts.js';
import { DEFAULT_WINDOW_SECONDS, type Measurement, type SourceShare } from './evaluate.js';

/**
 * The words of a notification: what happened, with the figures, what to do about it, and a
 * link to the endpoint in the dashboard. One rendering per transition, shared by the
 * channels (email text, Slack blocks, the webhook event's data). Pure.
 */
export interface MessageContext {
  kind: AlertKind;
  measurement: Measurement;
  /** failed attempts by status and error (read only when notifying) */
  breakdown: FailureFigure[];
  /** Herald's base URL (HERALD_PUBLIC_URL) */
  baseUrl: string;
  now: number;
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${fmt(Math.round(seconds / 6) / 10)} min`;
  if (seconds < 86_400) return `${fmt(Math.round(seconds / 360) / 10)} h`;
  return `${fmt(Math.round(seconds / 8640) / 10)} d`;
}

/** "30 × timeout, 5 × HTTP 502" */
export function breakdownText(rows: FailureFigure[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const key = r.statusCode === null ? (r.error ?? 'no response') : `HTTP ${r.statusCode}`;
    counts.set(key, (counts.get(key) ?? 0) + r.n);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, n]) => `${fmt(n)} × ${k}`).join(', ');
}

export const endpointLink = (baseUrl: string, appId: string, endpointId: string): string =>
  `${baseUrl}/ui/#/apps/${encodeURIComponent(appId)}/endpoints/${encodeURIComponent(endpointId)}`;

export const sourceLink = (baseUrl: string, sourceId: string): string => `${baseUrl}/ui/#/sources/${encodeURIComponent(sourceId)}`;

/** "HTTP 500, http_error: the provider answered 500" */
export function pollErrorText(e: NonNullable<SourceShare['lastError']>): string {
  const message = String(e.message ?? '').replace(/\s+/g, ' ').slice(0, 200);
  return `${e.status != null ? `HTTP ${e.status}, ` : ''}${e.code}${message ? `: ${message}` : ''}`;
}

/** "in 6 h", "13 s ago" */
const relative = (at: number, now: number): string => {
  const s = Math.round((at - now) / 1000);
  return s >= 0 ? `in ${duration(s)}` : `${duration(-s)} ago`;
};

/** One failing source: "5 times in a row (last error HTTP 500, …; next poll due at …, in 6 h)" */
function pollFailureText(s: SourceShare, now: number): string {
  const parts = [
    s.lastError ? `last error ${pollErrorText(s.lastError)}` : 'no error recorded',
    s.nextPollAt == null ? 'next poll due now' : `next poll due at ${new Date(s.nextPollAt).toISOString()}, ${relative(s.nextPollAt, now)}`,
    ...(s.retryAfterSeconds ? [`the provider asked to wait ${duration(s.retryAfterSeconds)}`] : []),
  ];
  const n = s.failures ?? 0;
  return `${n === 1 ? 'once' : `${fmt(n)} times in a row`} (${parts.join('; ')})`;
}

const failingSources = (m: Measurement) => m.sources.filter((s) => (s.failures ?? 0) > 0);

function subject(rule: AlertRule, m: Measurement): string {
  const top = m.endpoints[0]?.endpoint;
  if (rule.condition.metric === 'source_rejections') {
    const s = m.sources[0];
    return s ? `Source ${s.name}` : rule.sourceId ? `Source ${rule.sourceId}` : 'Sources';
  }
  if (rule.condition.metric === 'poll_failures') {
    const failing = failingSources(m);
    if (failing.length > 1) return `${failing.length} sources`;
    const s = failing[0] ?? m.sources[0];
    return s ? `Source ${s.name}` : rule.sourceId ? `Source ${rule.sourceId}` : 'Polling sources';
  }
  if (rule.endpointId || (top && m.endpoints.length === 1)) {
    return top ? `Endpoint ${top.url} (app ${top.appName})` : `Endpoint ${rule.endpointId}`;
  }
  const app = rule.appId ? `App ${top?.appName ?? rule.appId}` : 'All apps';
  return top ? `${app}, worst endpoint ${top.url}${rule.appId ? '' : ` (app ${top.appName})`}` : app;
}

function statement(rule: AlertRule, ctx: MessageContext): string {
  const m = ctx.measurement;
  const f = m.figures as Record<string, any>;
  const window = `over the last ${duration(rule.condition.windowSeconds ?? DEFAULT_WINDOW_SECONDS)}`;
  const failures = breakdownText(ctx.breakdown);
  const counts = `${fmt(f.attempts ?? 0)} attempts, ${fmt(f.failed ?? 0)} failed${failures ? `: ${failures}` : ''}`;
  switch (rule.condition.metric) {
    case 'failed_deliveries':
      return `${fmt(f.failed ?? 0)} failed delivery attempts ${window} (${counts})`;
    case 'success_rate':
      return m.value === null ? `success rate unknown ${window} (${counts})` : `success rate ${fmt(m.value)} % ${window} (${counts})`;
    case 'response_time_p95':
      return `p95 response time ${m.value === null ? 'unknown' : `${fmt(m.value)} ms`} ${window} (${fmt(f.attempts ?? 0)} attempts)`;
    case 'consecutive_failures':
      return `${fmt(m.value ?? 0)} consecutive failed attempts`;
    case 'endpoint_disabled': {
      const disabled = m.endpoints.map((s) => s.endpoint);
      if (disabled.length === 0) return 'no endpoint is disabled';
      const reasons = [...new Set(disabled.map((e) => e.disabledReason ?? 'manual'))].join(', ');
      return disabled.length === 1 ? `was disabled (reason: ${reasons})` : `${disabled.length} endpoints are disabled (reasons: ${reasons})`;
    }
    case 'queue_depth':
      return `${fmt(f.waiting ?? 0)} deliveries waiting${f.oldestSeconds != null ? `, the oldest for ${duration(f.oldestSeconds)}` : ''}`;
    case 'source_rejections':
      return `refused ${fmt(m.value ?? 0)} requests ${window} (failed signature verification)`;
    case 'poll_failures': {
      const failing = failingSources(m);
      if (failing.length === 0) {
        if (m.sources.length === 1 && m.sources[0].polling === false) return 'polls no more (its poll configuration was removed)';
        return `${m.sources.length === 1 || rule.sourceId ? 'polls' : 'poll'} without errors again`;
      }
      if (failing.length === 1) return `polling failed ${pollFailureText(failing[0], ctx.now)}`;
      const named = failing.slice(0, 5).map((s) => `${s.name} ${pollFailureText(s, ctx.now)}`).join(', ');
      return `are failing to poll: ${named}${failing.length > 5 ? `, and ${failing.length - 5} more` : ''}`;
    }
  }
}

const ADVICE: Record<AlertRule['condition']['metric'], string> = {
  failed_deliveries: 'Check that the receiver is up and answers 2xx within the timeout. Failed deliveries are retried on their schedule; those that ran out can be sent again with POST …/endpoints/{ep}/recover.',
  success_rate: 'Check that the receiver is up and answers 2xx within the timeout. Failed deliveries are retried on their schedule; those that ran out can be sent again with POST …/endpoints/{ep}/recover.',
  response_time_p95: 'The receiver is slow: answer 2xx at once and do the work asynchronously, or attempts will start to time out.',
  consecutive_failures: 'Every recent attempt failed: the receiver is down or refusing Herald. Fix it before the endpoint is disabled automatically; its deliveries wait meanwhile.',
  endpoint_disabled: 'Nothing is sent to this endpoint until it is enabled again; its deliveries are kept. Fix the receiver, then enable it (PATCH {"status": "active"}, or in the dashboard) and the backlog resumes gradually.',
  queue_depth: 'Deliveries are piling up: the receiver is down, slow, or throttled by its rateLimit or maxInFlight. They are kept and go out when it catches up.',
  source_rejections: 'Requests failed signature verification: check that the source\'s secret matches the one set at the provider (a rotation?), or someone is sending forged requests.',
  poll_failures: 'Polling the provider\'s changes API keeps failing: check that it is up, and the source\'s poll URL and credentials (poll.headers; GET /v1/sources/{id} shows lastPollResult). Runs back off exponentially, up to 6 h; POST /v1/sources/{id}/poll runs one now. Webhooks are still received meanwhile, and the first run that succeeds picks up what they missed.',
};

const escapeSlack = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderMessage(rule: AlertRule, ctx: MessageContext): AlertMessage {
  const m = ctx.measurement;
  const top = m.endpoints[0]?.endpoint;
  const topSource = rule.condition.metric === 'poll_failures' ? m.sources[0] : undefined;
  const link = top ? endpointLink(ctx.baseUrl, top.appId, top.id) : topSource ? sourceLink(ctx.baseUrl, topSource.id) : null;
  const linkLabel = top ? 'endpoint' : 'source';
  const what = `${subject(rule, m)} ${statement(rule, ctx)}`;
  const resolved = ctx.kind === 'resolved';
  const label = resolved ? 'Resolved' : ctx.kind === 'reminder' ? 'Still firing' : 'Firing';
  const rule_ = `${rule.condition.metric} ${rule.condition.op} ${fmt(rule.condition.threshold)}`;
  const headline = resolved ? `Resolved: ${what}.` : `${what}.`;
  const advice = resolved ? 'No action needed.' : ADVICE[rule.condition.metric];
  const text = [
    headline,
    '',
    advice,
    ...(link ? ['', `Open the ${linkLabel}: ${link}`] : []),
    '',
    `Rule "${rule.name}" (${rule.id}): ${rule_}. ${label} at ${new Date(ctx.now).toISOString()}.`,
  ].join('\n');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `${resolved ? '✅' : '🔴'} ${label}: ${rule.name}`.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(headline) } },
    ...(resolved ? [] : [{ type: 'section', text: { type: 'mrkdwn', text: `*What to do:* ${escapeSlack(advice)}` } }]),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${link ? `<${link}|Open the ${linkLabel} in Herald> · ` : ''}Rule ${escapeSlack(rule.name)}: \`${escapeSlack(rule_)}\`` }],
    },
  ];
  return {
    subject: `[Herald] ${label}: ${rule.name}`,
    text,
    // The notification's fallback text; a resolved headline already says so.
    slack: { text: resolved ? headline : `${label}: ${headline}`, blocks },
    event: {
      type: resolved ? 'alert.resolved' : 'alert.firing',
      data: {
        ruleId: rule.id, ruleName: rule.name, state: resolved ? 'ok' : 'firing', reminder: ctx.kind === 'reminder',
        condition: rule.condition, value: m.value, appId: rule.appId, endpointId: rule.endpointId, sourceId: rule.sourceId,
        endpoints: m.endpoints.slice(0, 10).map((s) => ({ id: s.endpoint.id, appId: s.endpoint.appId, url: s.endpoint.url, attempts: s.attempts, failed: s.failed })),
        sources: m.sources.slice(0, 10).map(sourceOut),
        figures: m.figures, message: headline, dashboardUrl: link, at: new Date(ctx.now).toISOString(),
      },
    },
  };
}

/** A source share as the webhook event carries it: timestamps as ISO strings. */
function sourceOut(s: SourceShare): Record<string, unknown> {
  if (s.failures === undefined) return { ...s };
  const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());
  return {
    id: s.id, name: s.name, polling: s.polling, failures: s.failures, lastError: s.lastError ?? null,
    retryAfterSeconds: s.retryAfterSeconds ?? null, lastPollAt: iso(s.lastPollAt), nextPollAt: iso(s.nextPollAt),
  };
}
