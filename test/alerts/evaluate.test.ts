import { describe, expect, it } from 'vitest';
import { attemptWatch, decide, endpointScope, measure, percentileOf, type RoundFigures } from '../../src/alerts/evaluate.js';
import { breakdownText, renderMessage } from '../../src/alerts/messages.js';
import { alertRetryAt } from '../../src/alerts/outbox.js';
import { normaliseCondition } from '../../src/api/routes/alerts.js';
import type { AlertEndpointState, AlertRule } from '../../src/store/alerts.js';

/** The pure parts: values from figures, transitions, words, backoff, condition checks. */
const NOW = 1_750_000_000_000;
const ep = (id: string, o: Partial<AlertEndpointState> = {}): AlertEndpointState => ({
  id, appId: 'app_1', appName: 'Acme', url: `https://api.acme.com/${id}`, status: 'active', disabledReason: null, disabledAt: null, consecutiveFailures: 0, ...o,
});
const rule = (condition: Partial<AlertRule['condition']>, o: Partial<AlertRule> = {}): AlertRule => ({
  id: 'alr_1', name: 'r', appId: 'app_1', endpointId: 'ep_a', sourceId: null,
  condition: { metric: 'success_rate', op: '<', threshold: 95, windowSeconds: 300, minAttempts: null, olderThanSeconds: null, ...condition },
  channels: [], repeatSeconds: null, enabled: true, state: 'ok', lastTransitionAt: null, lastNotifiedAt: null, lastValue: null, createdBy: 'operator',
  createdAt: 0, updatedAt: 0, ...o,
});
const since = NOW - 300_000;
const figures = (o: Partial<RoundFigures> = {}): RoundFigures => ({
  now: NOW, endpoints: [ep('ep_a'), ep('ep_b')], queue: [], rejections: [],
  attempts: [
    { endpointId: 'ep_a', since, statusCode: 200, ms: 40, n: 85 },
    { endpointId: 'ep_a', since, statusCode: null, ms: 15000, n: 30 },
    { endpointId: 'ep_a', since, statusCode: 502, ms: 80, n: 5 },
    { endpointId: 'ep_b', since, statusCode: 500, ms: 10, n: 7 },
  ],
  ...o,
});

describe('measure', () => {
  it('success rate over the window of the rule\'s endpoint only, with the figures', () => {
    const m = measure(rule({}), figures());
    expect(m.value).toBe(70.8);
    expect(m.met).toBe(true);
    expect(m.figures).toMatchObject({ attempts: 120, failed: 35, succeeded: 85, byStatus: { 200: 85, none: 30, 502: 5 } });
  });

  it('too few attempts judge nothing (null), so the state stays', () => {
    const m = measure(rule({ minAttempts: 200 }), figures());
    expect(m).toMatchObject({ value: null, met: null });
    expect(decide(rule({}, { state: 'firing' }), m, NOW)).toBeNull();
    expect(decide(rule({}), m, NOW)).toBeNull();
  });

  it('failed deliveries and p95 over an app: every endpoint of it, the worst first', () => {
    const failed = measure(rule({ metric: 'failed_deliveries', op: '>', threshold: 10 }, { endpointId: null }), figures());
    expect(failed.value).toBe(42);
    expect(failed.endpoints.map((s) => [s.endpoint.id, s.failed])).toEqual([['ep_a', 35], ['ep_b', 7]]);
    const p95 = measure(rule({ metric: 'response_time_p95', op: '>', threshold: 5000 }, { endpointId: null }), figures());
    expect(p95).toMatchObject({ value: 15000, met: true });
  });

  it('consecutive failures, disabled endpoints and queue depth from endpoint states', () => {
    const f = figures({
      endpoints: [ep('ep_a', { consecutiveFailures: 12 }), ep('ep_b', { status: 'disabled', disabledReason: 'consecutive_failures' })],
      queue: [{ endpointId: 'ep_a', waiting: 40, oldestAt: NOW - 120_000 }, { endpointId: 'ep_b', waiting: 5, oldestAt: NOW - 10_000 }],
    });
    expect(measure(rule({ metric: 'consecutive_failures', op: '>=', threshold: 10 }, { endpointId: null }), f)).toMatchObject({ value: 12, met: true });
    expect(measure(rule({ metric: 'endpoint_disabled', op: '>=', threshold: 1 }, { endpointId: null }), f)).toMatchObject({ value: 1, met: true });
    expect(measure(rule({ metric: 'endpoint_disabled', op: '>=', threshold: 1 }), f)).toMatchObject({ value: 0, met: false });
    expect(measure(rule({ metric: 'queue_depth', op: '>', threshold: 30, olderThanSeconds: 60 }, { endpointId: null }), f)).toMatchObject({ value: 45, met: true, figures: { oldestSeconds: 120 } });
    expect(measure(rule({ metric: 'queue_depth', op: '>', threshold: 30, olderThanSeconds: 600 }, { endpointId: null }), f)).toMatchObject({ value: 45, met: false });
  });

  it('source rejections of one source or every source', () => {
    const f = figures({ rejections: [{ sourceId: 'src_a', since, n: 4, name: 'GitHub' }, { sourceId: 'src_b', since, n: 9, name: 'Stripe' }] });
    expect(measure(rule({ metric: 'source_rejections', op: '>', threshold: 5 }, { appId: null, endpointId: null, sourceId: 'src_a' }), f)).toMatchObject({ value: 4, met: false });
    expect(measure(rule({ metric: 'source_rejections', op: '>', threshold: 5 }, { appId: null, endpointId: null }), f)).toMatchObject({ value: 13, met: true, sources: [{ name: 'Stripe' }, { name: 'GitHub' }] });
  });
});

describe('what a round reads', () => {
  it('endpoints of every scope once, and one (endpoint, since) pair per window', () => {
    const rules = [rule({}), rule({ windowSeconds: 60 }, { endpointId: null }), rule({ metric: 'queue_depth', op: '>', threshold: 1 }, { appId: 'app_2', endpointId: null })];
    expect(endpointScope(rules)).toEqual({ all: false, appIds: ['app_1', 'app_2'], endpointIds: ['ep_a'] });
    expect(attemptWatch(rules, [ep('ep_a'), ep('ep_b')], NOW)).toEqual([
      { endpointId: 'ep_a', since }, { endpointId: 'ep_a', since: NOW - 60_000 }, { endpointId: 'ep_b', since: NOW - 60_000 },
    ]);
    expect(endpointScope([rule({}, { appId: null, endpointId: null })]).all).toBe(true);
  });
});

describe('decide', () => {
  const met = { value: 1, met: true, figures: {}, endpoints: [], sources: [] };
  const clear = { ...met, met: false };
  it('ok → firing once, firing → resolved once, nothing while unchanged', () => {
    expect(decide(rule({}), met, NOW)).toBe('firing');
    expect(decide(rule({}), clear, NOW)).toBeNull();
    expect(decide(rule({}, { state: 'firing', lastNotifiedAt: NOW - 1000 }), met, NOW)).toBeNull();
    expect(decide(rule({}, { state: 'firing' }), clear, NOW)).toBe('resolved');
  });
  it('a reminder after repeatSeconds while firing', () => {
    const firing = rule({}, { state: 'firing', repeatSeconds: 3600, lastNotifiedAt: NOW - 3599_000 });
    expect(decide(firing, met, NOW)).toBeNull();
    expect(decide({ ...firing, lastNotifiedAt: NOW - 3600_000 }, met, NOW)).toBe('reminder');
  });
});

describe('messages', () => {
  it('say what happened with the figures, what to do, and link the endpoint', () => {
    const m = measure(rule({}), figures());
    const msg = renderMessage(rule({}, { name: 'Success rate < 95%' }), {
      kind: 'firing', measurement: m, baseUrl: 'https://herald.acme.com', now: NOW,
      breakdown: [{ endpointId: 'ep_a', statusCode: null, error: 'timeout', n: 30 }, { endpointId: 'ep_a', statusCode: 502, error: null, n: 5 }],
    });
    expect(msg.text.split('\n')[0]).toBe('Endpoint https://api.acme.com/ep_a (app Acme) success rate 70.8 % over the last 5 min (120 attempts, 35 failed: 30 × timeout, 5 × HTTP 502).');
    expect(msg.text).toContain('Open the endpoint: https://herald.acme.com/ui/#/apps/app_1/endpoints/ep_a');
    expect(msg.subject).toBe('[Herald] Firing: Success rate < 95%');
    expect(msg.event).toMatchObject({ type: 'alert.firing', data: { value: 70.8, state: 'firing', endpointId: 'ep_a' } });
    // Slack mrkdwn: <, > and & escaped in our text, the link itself a <url|label>.
    expect(JSON.stringify(msg.slack.blocks)).toContain('Success rate &lt; 95%');
  });
  it('breakdowns add up per cause', () => {
    expect(breakdownText([
      { endpointId: 'a', statusCode: 502, error: null, n: 2 }, { endpointId: 'b', statusCode: 502, error: null, n: 3 }, { endpointId: 'a', statusCode: null, error: 'dns', n: 1 },
    ])).toBe('5 × HTTP 502, 1 × dns');
    expect(percentileOf(new Map([[10, 94], [900, 6]]), 95)).toBe(900);
  });
});

describe('the outbox backoff', () => {
  it('10 s, 30 s, 2 min, 10 min, 30 min, then hourly; given up after a day', () => {
    const created = NOW;
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => (alertRetryAt(a, created, NOW)! - NOW) / 1000)).toEqual([10, 30, 120, 600, 1800, 3600, 3600]);
    expect(alertRetryAt(30, created, NOW + 23.5 * 3600_000)).toBeNull();
  });
});

describe('conditions', () => {
  it('fills in defaults', () => {
    expect(normaliseCondition({ metric: 'success_rate', threshold: 95 })).toEqual({ metric: 'success_rate', op: '<', threshold: 95, windowSeconds: 300, minAttempts: null, olderThanSeconds: null });
    expect(normaliseCondition({ metric: 'endpoint_disabled' })).toMatchObject({ op: '>=', threshold: 1, windowSeconds: null });
  });
  it.each([
    [{ metric: 'success_rate', op: '>', threshold: 95 }, /use < or <=/],
    [{ metric: 'failed_deliveries', op: '<', threshold: 10 }, /use > or >=/],
    [{ metric: 'failed_deliveries' }, /threshold is required/],
    [{ metric: 'success_rate', threshold: 120 }, /0 to 100/],
    [{ metric: 'queue_depth', threshold: 2.5 }, /whole number/],
    [{ metric: 'consecutive_failures', threshold: 5, windowSeconds: 60 }, /windowSeconds applies to/],
    [{ metric: 'failed_deliveries', threshold: 5, minAttempts: 3 }, /minAttempts applies to/],
    [{ metric: 'success_rate', threshold: 5, olderThanSeconds: 3 }, /olderThanSeconds applies to queue_depth/],
    [{ metric: 'failed_deliveries', op: '>=', threshold: 0 }, /always holds/],
  ])('refuses %j', (c, message) => {
    expect(() => normaliseCondition(c as never)).toThrow(message);
  });
});
