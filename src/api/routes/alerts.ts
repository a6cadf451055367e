import { isSourceMetric, isWindowed } from '../../alerts/evaluate.js';
import { endpointUrlProblem } from '../../core/endpoint-url.js';
import { RELAY_URL } from '../../core/relay.js';
import { generateSecret } from '../../core/signing.js';
import { HeraldError, notFound } from '../../errors.js';
import { ALERTS_APP_ID, type AlertChannel, type AlertCondition, type AlertRule, type AlertRulePatch as StorePatch } from '../../store/alerts.js';
import type { App } from '../../store/types.js';
import {
  AlertHistoryOut, AlertRuleCreate, AlertRuleListQuery, AlertRuleOut, AlertRuleParams, AlertRulePatch, AppAlertRuleCreate, AppAlertRuleParams,
  type AlertChannelIn, type AlertConditionIn,
} from '../alert-schemas.js';
import { loadApp, pageQuery, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import { AppParams, pageOf } from '../schemas.js';

/**
 * Alert rules: `/v1/alert-rules` for the operator (any scope), `/v1/apps/{app}/alert-rules`
 * for an app's owner or a portal session (the app implied; endpoints must be the app's).
 * Everything the schema can't say is checked here, with a 422 that says what to change.
 */
const invalid = (message: string, details?: unknown) => new HeraldError('invalid_alert_rule', message, details);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Defaults filled in, and every combination that can't mean anything refused. */
export function normaliseCondition(c: AlertConditionIn): AlertCondition {
  const metric = c.metric;
  const rate = metric === 'success_rate';
  const op = c.op ?? (rate ? '<' : metric === 'endpoint_disabled' ? '>=' : '>');
  if (rate && (op === '>' || op === '>=')) throw invalid(`condition.op: success_rate fires when the rate drops: use < or <= (got ${op})`);
  if (!rate && (op === '<' || op === '<=')) throw invalid(`condition.op: ${metric} fires when it grows: use > or >= (got ${op})`);
  if (c.threshold === undefined && metric !== 'endpoint_disabled') throw invalid(`condition.threshold is required for ${metric}`);
  const threshold = c.threshold ?? 1;
  if (rate && threshold > 100) throw invalid('condition.threshold of success_rate is a percentage: 0 to 100');
  if (['failed_deliveries', 'consecutive_failures', 'queue_depth', 'endpoint_disabled', 'source_rejections', 'poll_failures'].includes(metric) && !Number.isInteger(threshold)) {
    throw invalid(`condition.threshold of ${metric} counts something: give a whole number`);
  }
  if (metric === 'response_time_p95' && threshold > 3_600_000) throw invalid('condition.threshold of response_time_p95 is in milliseconds: at most 3600000');
  // A condition that holds with nothing wrong would fire at once and never resolve.
  if ((op === '>=' && threshold === 0) || (rate && op === '<=' && threshold === 100)) {
    throw invalid(`condition ${metric} ${op} ${threshold} always holds: it would fire at once and never resolve`);
  }
  if (c.windowSeconds !== undefined && !isWindowed(metric)) throw invalid(`condition.windowSeconds applies to failed_deliveries, success_rate, response_time_p95 and source_rejections, not ${metric}`);
  if (c.minAttempts !== undefined && metric !== 'success_rate' && metric !== 'response_time_p95') throw invalid(`condition.minAttempts applies to success_rate and response_time_p95, not ${metric}`);
  if (c.olderThanSeconds !== undefined && metric !== 'queue_depth') throw invalid(`condition.olderThanSeconds applies to queue_depth, not ${metric}`);
  return {
    metric, op, threshold,
    windowSeconds: isWindowed(metric) ? c.windowSeconds ?? 300 : null,
    minAttempts: c.minAttempts ?? null,
    olderThanSeconds: c.olderThanSeconds ?? null,
  };
}

/** Addresses go into an SMTP envelope and a To: header: nothing that could add a recipient or a header. */
const ADDRESS = /^[^\s@<>()",;:\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/**
 * A portal session may point alerts at URLs (Slack, webhooks), as it may point endpoints at
 * them, but not at email addresses: Herald would send mail from the operator's server to
 * anyone a customer names. Email channels are set up with the API key.
 */
const PORTAL_MAX_RULES = 20;
const PORTAL_MIN_REPEAT_SECONDS = 300;

/** The operator's rules on a customer's app are theirs: the portal reads them (without channels) but can't change them. */
function refuseOperatorRule(rule: AlertRule): void {
  if (rule.createdBy === 'operator') throw new HeraldError('forbidden', 'this alert rule was set by the operator: it can be changed with the API key only');
}

function refuseEmail(channels: AlertChannelIn[]): void {
  if (channels.some((c) => c.type === 'email')) {
    throw new HeraldError('forbidden', 'email alerts are set up by the operator (with the API key); a portal session can add Slack and webhook channels', { channel: 'email' });
  }
}

function checkChannels(ctx: ApiContext, channels: AlertChannelIn[]): void {
  channels.forEach((c, i) => {
    const where = `channels[${i}]`;
    if (c.type === 'email') {
      if (!ctx.config.smtpUrl) throw invalid(`${where}: email channels need HERALD_SMTP_URL (smtp://user:pass@host:587) set on the server`);
      const bad = c.to.find((a) => !ADDRESS.test(a));
      if (bad !== undefined) throw invalid(`${where}.to has ${JSON.stringify(bad)}, which is not an email address like ops@example.com`);
      return;
    }
    if (c.url === RELAY_URL) throw new HeraldError('invalid_endpoint_url', `${where}.url must be an http(s) URL`);
    // The same policy as endpoints: no private, loopback or reserved addresses outside dev mode
    // (and checked again on the address actually connected to, at send time).
    const problem = endpointUrlProblem(c.url, ctx.addressPolicy);
    if (problem) throw new HeraldError('invalid_endpoint_url', `${where}.url ${problem}`, { url: c.url });
  });
}

/** poll_failures of a source that doesn't poll could never fire. */
function refuseNotPolling(source: { id: string; poll?: unknown }): void {
  if (!source.poll) throw invalid(`source '${source.id}' doesn't poll (it has no poll configuration): poll_failures can't apply to it`);
}

interface Scope {
  appId: string | null;
  endpointId: string | null;
  sourceId: string | null;
}

async function resolveScope(ctx: ApiContext, metric: string, given: { appId?: string; endpointId?: string; sourceId?: string }, routeApp: App | null): Promise<Scope> {
  if (given.sourceId !== undefined) {
    if (given.appId !== undefined || given.endpointId !== undefined) throw invalid('a rule watches one scope: a source, or an app and optionally one of its endpoints, not both');
    if (!isSourceMetric(metric)) throw invalid(`a source's rule watches source_rejections or poll_failures, not ${metric}`);
    const source = await ctx.store.getSource(given.sourceId);
    if (!source) throw notFound('source', given.sourceId);
    if (metric === 'poll_failures') refuseNotPolling(source);
    return { appId: null, endpointId: null, sourceId: source.id };
  }
  // Sources aren't an app's: these rules are the operator's (/v1/alert-rules), never a portal session's.
  if (isSourceMetric(metric) && (routeApp || given.appId !== undefined || given.endpointId !== undefined)) {
    throw invalid(`${metric} watches sources: give a sourceId, or nothing for every source (on /v1/alert-rules)`);
  }
  let app = routeApp;
  if (!app && given.appId !== undefined) app = await loadApp(ctx, given.appId);
  if (app?.id === ALERTS_APP_ID) throw invalid("the alerts app holds the rules' own webhook channels: it can't be watched");
  if (given.endpointId !== undefined) {
    if (!app) throw invalid('endpointId needs the appId of its app');
    const endpoint = await ctx.store.getEndpoint(app.id, given.endpointId);
    if (!endpoint) throw notFound('endpoint', given.endpointId);
  }
  return { appId: app?.id ?? null, endpointId: given.endpointId ?? null, sourceId: null };
}

/**
 * Webhook channels become endpoints of the alerts app: new ones are created (their secrets
 * returned once), ones kept from `existing` (same endpointId, else same URL) keep theirs, and
 * the rest are deleted once the rule is saved (`removed`).
 */
async function materialise(ctx: ApiContext, given: AlertChannelIn[], existing: AlertChannel[], ruleName: string) {
  const secrets = new Map<string, string>();
  const created: string[] = [];
  const old = existing.filter((c): c is Extract<AlertChannel, { type: 'webhook' }> => c.type === 'webhook');
  const kept = new Set<string>();
  const channels: AlertChannel[] = [];
  try {
    for (const c of given) {
      if (c.type !== 'webhook') {
        channels.push(c.type === 'email' ? { type: 'email', to: c.to.map((a) => a.toLowerCase()) } : { type: 'slack', url: c.url });
        continue;
      }
      const same = old.find((o) => !kept.has(o.endpointId) && (c.endpointId ? o.endpointId === c.endpointId : o.url === c.url));
      if (c.endpointId && !same) throw invalid(`webhook channel endpointId '${c.endpointId}' is not one of this rule's`);
      if (same && same.url === c.url) {
        kept.add(same.endpointId);
        channels.push(same);
        continue;
      }
      if (same) {
        kept.add(same.endpointId);
        await ctx.store.updateEndpoint(ALERTS_APP_ID, same.endpointId, { url: c.url }, Date.now());
        channels.push({ type: 'webhook', url: c.url, endpointId: same.endpointId });
        continue;
      }
      await ctx.store.ensureAlertsApp(Date.now());
      const secret = generateSecret();
      const ep = await ctx.store.createEndpoint({
        appId: ALERTS_APP_ID, url: c.url, description: `alert rule "${ruleName}"`.slice(0, 1000), events: ['alert.firing', 'alert.resolved'],
        status: 'active', secret, headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null,
        disableAfterFailures: null, disableAfterSeconds: null, metadata: {},
      });
      created.push(ep.id);
      secrets.set(ep.id, secret);
      channels.push({ type: 'webhook', url: c.url, endpointId: ep.id });
    }
  } catch (err) {
    await dropEndpoints(ctx, created);
    throw err;
  }
  return { channels, secrets, created, removed: old.filter((o) => !kept.has(o.endpointId)).map((o) => o.endpointId) };
}

async function dropEndpoints(ctx: ApiContext, ids: string[]): Promise<void> {
  for (const id of ids) await ctx.store.deleteEndpoint(ALERTS_APP_ID, id).catch(() => undefined);
}

/** A portal session reads the operator's rules on its app without their channels (Slack URLs are credentials, addresses the operator's). */
export function ruleOut(rule: AlertRule, secrets: Map<string, string> = new Map(), byPortal = false) {
  const hidden = byPortal && rule.createdBy === 'operator';
  return {
    id: rule.id, name: rule.name, appId: rule.appId, endpointId: rule.endpointId, sourceId: rule.sourceId,
    condition: rule.condition, createdBy: rule.createdBy,
    channels: hidden ? [] : rule.channels.map((c) => (c.type === 'webhook'
      ? { ...c, appId: ALERTS_APP_ID, ...(secrets.has(c.endpointId) ? { secret: secrets.get(c.endpointId)! } : {}) }
      : c)),
    repeatSeconds: rule.repeatSeconds, enabled: rule.enabled, state: rule.state,
    lastTransitionAt: iso(rule.lastTransitionAt), lastValue: rule.lastValue,
    createdAt: iso(rule.createdAt)!, updatedAt: iso(rule.updatedAt)!,
  };
}

export function alertRoutes(r: Router, ctx: ApiContext): void {
  /** The rule, if it is this app's (app-scoped routes) or any (operator routes). */
  const load = async (id: string, app: App | null): Promise<AlertRule> => {
    const rule = await ctx.store.getAlertRule(id);
    if (!rule || (app && rule.appId !== app.id)) throw notFound('alert rule', id);
    return rule;
  };

  const create = async (body: AlertRuleCreate, app: App | null, byPortal = false) => {
    const condition = normaliseCondition(body.condition);
    checkChannels(ctx, body.channels);
    if (byPortal) {
      refuseEmail(body.channels);
      // What a customer sets makes Herald send requests unprompted: bounded per app, and no faster than every 5 min.
      if (body.repeatSeconds != null && body.repeatSeconds < PORTAL_MIN_REPEAT_SECONDS) {
        throw new HeraldError('invalid_alert_rule', `repeatSeconds must be at least ${PORTAL_MIN_REPEAT_SECONDS} in the portal`);
      }
      const existing = await ctx.store.listAlertRules({ limit: 250, appId: app!.id });
      if (existing.data.filter((x) => x.createdBy === 'portal').length >= PORTAL_MAX_RULES) throw new HeraldError('conflict', `an app has at most ${PORTAL_MAX_RULES} alert rules set in the portal: delete one first`);
    }
    const scope = await resolveScope(ctx, condition.metric, body, app);
    const { channels, secrets, created } = await materialise(ctx, body.channels, [], body.name);
    try {
      const rule = await ctx.store.createAlertRule({
        name: body.name, ...scope, condition, channels, repeatSeconds: body.repeatSeconds ?? null, enabled: body.enabled ?? true,
        createdBy: byPortal ? 'portal' : 'operator',
      }, Date.now());
      return ruleOut(rule, secrets);
    } catch (err) {
      await dropEndpoints(ctx, created);
      throw err;
    }
  };

  const update = async (id: string, body: AlertRulePatch, app: App | null, byPortal = false) => {
    const current = await load(id, app);
    if (byPortal) {
      refuseOperatorRule(current);
      if (body.repeatSeconds != null && body.repeatSeconds < PORTAL_MIN_REPEAT_SECONDS) {
        throw new HeraldError('invalid_alert_rule', `repeatSeconds must be at least ${PORTAL_MIN_REPEAT_SECONDS} in the portal`);
      }
    }
    const patch: StorePatch = { name: body.name, repeatSeconds: body.repeatSeconds, enabled: body.enabled };
    if (body.condition) {
      patch.condition = normaliseCondition(body.condition);
      const metric = patch.condition.metric;
      // The scope stays; the metric must still make sense for it.
      if (isSourceMetric(metric) !== isSourceMetric(current.condition.metric) && (current.sourceId || current.appId || isSourceMetric(metric))) {
        throw invalid(`this rule watches ${current.sourceId ? 'a source' : current.appId ? 'an app' : 'every app'}: ${metric} doesn't apply; create another rule`);
      }
      if (metric === 'poll_failures' && current.sourceId && current.condition.metric !== 'poll_failures') {
        const source = await ctx.store.getSource(current.sourceId);
        if (!source) throw notFound('source', current.sourceId);
        refuseNotPolling(source);
      }
    }
    let secrets = new Map<string, string>();
    let removed: string[] = [];
    if (body.channels) {
      checkChannels(ctx, body.channels);
      if (byPortal) refuseEmail(body.channels);
      const m = await materialise(ctx, body.channels, current.channels, body.name ?? current.name);
      patch.channels = m.channels;
      secrets = m.secrets;
      removed = m.removed;
    }
    const rule = await ctx.store.updateAlertRule(id, patch, Date.now());
    if (!rule) throw notFound('alert rule', id);
    await dropEndpoints(ctx, removed);
    return ruleOut(rule, secrets);
  };

  const remove = async (id: string, app: App | null) => {
    const rule = await load(id, app);
    await ctx.store.deleteAlertRule(rule.id);
    await dropEndpoints(ctx, rule.channels.flatMap((c) => (c.type === 'webhook' ? [c.endpointId] : [])));
  };

  const history = async (id: string, app: App | null) => {
    const rule = await load(id, app);
    const entries = await ctx.store.alertHistory(rule.id);
    return { data: entries.map((e) => ({ ...e, at: iso(e.at)! })) };
  };

  const base = '/v1/alert-rules';
  r.add({
    method: 'POST', operationId: 'createAlertRule', url: base, tag: 'alerts',
    summary: 'Create an alert rule over every app, one app, one endpoint or one source; webhook channels return their signing secret only here',
    body: AlertRuleCreate, response: { status: 201, schema: AlertRuleOut },
    handler: async (req, reply) => reply.status(201).send(await create(req.body as AlertRuleCreate, null)),
  });
  r.add({
    method: 'GET', operationId: 'listAlertRules', url: base, tag: 'alerts', summary: 'List every alert rule',
    querystring: AlertRuleListQuery, response: { status: 200, schema: pageOf(AlertRuleOut) },
    handler: async (req) => {
      const page = await ctx.store.listAlertRules(pageQuery(req));
      return { ...page, data: page.data.map((x) => ruleOut(x)) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getAlertRule', url: `${base}/:id`, tag: 'alerts', summary: 'Get an alert rule with its state',
    params: AlertRuleParams, response: { status: 200, schema: AlertRuleOut },
    handler: async (req) => ruleOut(await load(req.params.id, null)),
  });
  r.add({
    method: 'PATCH', operationId: 'updateAlertRule', url: `${base}/:id`, tag: 'alerts',
    summary: 'Update an alert rule; channels replaces the list (a webhook channel with the same endpointId or URL keeps its endpoint and secret); a changed condition or disabling starts again from ok',
    params: AlertRuleParams, body: AlertRulePatch, response: { status: 200, schema: AlertRuleOut },
    handler: async (req) => update(req.params.id, req.body as AlertRulePatch, null),
  });
  r.add({
    method: 'DELETE', operationId: 'deleteAlertRule', url: `${base}/:id`, tag: 'alerts', summary: 'Delete an alert rule and its webhook channels',
    params: AlertRuleParams, response: { status: 204 },
    handler: async (req, reply) => {
      await remove(req.params.id, null);
      return reply.status(204).send();
    },
  });
  r.add({
    method: 'GET', operationId: 'getAlertRuleHistory', url: `${base}/:id/history`, tag: 'alerts',
    summary: 'The last 100 transitions of an alert rule, with the figures that caused them', params: AlertRuleParams,
    response: { status: 200, schema: AlertHistoryOut },
    handler: async (req) => history(req.params.id, null),
  });

  const appBase = '/v1/apps/:app/alert-rules';
  r.add({
    method: 'POST', operationId: 'createAppAlertRule', access: 'manage_endpoints', url: appBase, tag: 'alerts',
    summary: "Create an alert rule over this app or one of its endpoints; webhook channels return their signing secret only here",
    params: AppParams,
    body: AppAlertRuleCreate, response: { status: 201, schema: AlertRuleOut },
    handler: async (req, reply) => {
      const app = await loadApp(ctx, req.params.app);
      return reply.status(201).send(await create(req.body as AlertRuleCreate, app, req.principal?.kind === 'portal'));
    },
  });
  r.add({
    method: 'GET', operationId: 'listAppAlertRules', access: 'view', url: appBase, tag: 'alerts', summary: "List this app's alert rules",
    params: AppParams,
    querystring: AlertRuleListQuery, response: { status: 200, schema: pageOf(AlertRuleOut) },
    handler: async (req) => {
      const app = await loadApp(ctx, req.params.app);
      const page = await ctx.store.listAlertRules({ ...pageQuery(req), appId: app.id });
      return { ...page, data: page.data.map((x) => ruleOut(x, undefined, req.principal?.kind === 'portal')) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getAppAlertRule', access: 'view', url: `${appBase}/:id`, tag: 'alerts', summary: 'Get an alert rule of this app',
    params: AppAlertRuleParams, response: { status: 200, schema: AlertRuleOut },
    handler: async (req) => ruleOut(await load(req.params.id, await loadApp(ctx, req.params.app)), undefined, req.principal?.kind === 'portal'),
  });
  r.add({
    method: 'PATCH', operationId: 'updateAppAlertRule', access: 'manage_endpoints', url: `${appBase}/:id`, tag: 'alerts',
    summary: 'Update an alert rule of this app (as PATCH /v1/alert-rules/{id})',
    params: AppAlertRuleParams, body: AlertRulePatch, response: { status: 200, schema: AlertRuleOut },
    handler: async (req) => update(req.params.id, req.body as AlertRulePatch, await loadApp(ctx, req.params.app), req.principal?.kind === 'portal'),
  });
  r.add({
    method: 'DELETE', operationId: 'deleteAppAlertRule', access: 'manage_endpoints', url: `${appBase}/:id`, tag: 'alerts',
    summary: 'Delete an alert rule of this app and its webhook channels', params: AppAlertRuleParams, response: { status: 204 },
    handler: async (req, reply) => {
      const app = await loadApp(ctx, req.params.app);
      if (req.principal?.kind === 'portal') refuseOperatorRule(await load(req.params.id, app));
      await remove(req.params.id, app);
      return reply.status(204).send();
    },
  });
  r.add({
    method: 'GET', operationId: 'getAppAlertRuleHistory', access: 'view', url: `${appBase}/:id/history`, tag: 'alerts',
    summary: 'The last 100 transitions of an alert rule of this app', params: AppAlertRuleParams, response: { status: 200, schema: AlertHistoryOut },
    handler: async (req) => history(req.params.id, await loadApp(ctx, req.params.app)),
  });
}
