import type { AlertKind, AlertMessage, AlertRule, FailureFigure } from '../store/alerts.js';
import { DEFAULT_WINDOW_SECONDS, type Measurement } from './evaluate.js';

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

function subject(rule: AlertRule, m: Measurement): string {
  const top = m.endpoints[0]?.endpoint;
  if (rule.condition.metric === 'source_rejections') {
    const s = m.sources[0];
    return s ? `Source ${s.name}` : rule.sourceId ? `Source ${rule.sourceId}` : 'Sources';
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
};

const escapeSlack = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderMessage(rule: AlertRule, ctx: MessageContext): AlertMessage {
  const m = ctx.measurement;
  const top = m.endpoints[0]?.endpoint;
  const link = top ? endpointLink(ctx.baseUrl, top.appId, top.id) : null;
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
    ...(link ? ['', `Open the endpoint: ${link}`] : []),
    '',
    `Rule "${rule.name}" (${rule.id}): ${rule_}. ${label} at ${new Date(ctx.now).toISOString()}.`,
  ].join('\n');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `${resolved ? '✅' : '🔴'} ${label}: ${rule.name}`.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(headline) } },
    ...(resolved ? [] : [{ type: 'section', text: { type: 'mrkdwn', text: `*What to do:* ${escapeSlack(advice)}` } }]),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${link ? `<${link}|Open the endpoint in Herald> · ` : ''}Rule ${escapeSlack(rule.name)}: \`${escapeSlack(rule_)}\`` }],
    },
  ];
  return {
    subject: `[Herald] ${label}: ${rule.name}`,
    text,
    slack: { text: `${label}: ${headline}`, blocks },
    event: {
      type: resolved ? 'alert.resolved' : 'alert.firing',
      data: {
        ruleId: rule.id, ruleName: rule.name, state: resolved ? 'ok' : 'firing', reminder: ctx.kind === 'reminder',
        condition: rule.condition, value: m.value, appId: rule.appId, endpointId: rule.endpointId, sourceId: rule.sourceId,
        endpoints: m.endpoints.slice(0, 10).map((s) => ({ id: s.endpoint.id, appId: s.endpoint.appId, url: s.endpoint.url, attempts: s.attempts, failed: s.failed })),
        sources: m.sources.slice(0, 10),
        figures: m.figures, message: headline, dashboardUrl: link, at: new Date(ctx.now).toISOString(),
      },
    },
  };
}
