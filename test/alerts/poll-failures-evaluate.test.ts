import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import { decide, endpointScope, measure, pollWatch, type RoundFigures } from '../../src/alerts/evaluate.js';
import { renderMessage } from '../../src/alerts/messages.js';
import { normaliseCondition } from '../../src/api/routes/alerts.js';
import type { AlertRule, PollFigure } from '../../src/store/alerts.js';
import type { Store } from '../../src/store/types.js';

/** poll_failures, the pure parts: its value from the round's poll figures, transitions, words, and what a round reads. */
const NOW = 1_750_000_000_000;
const rule = (o: Partial<AlertRule> = {}, condition: Partial<AlertRule['condition']> = {}): AlertRule => ({
  id: 'alr_1', name: 'polling', appId: null, endpointId: null, sourceId: null,
  condition: { metric: 'poll_failures', op: '>=', threshold: 3, windowSeconds: null, minAttempts: null, olderThanSeconds: null, ...condition },
  channels: [], repeatSeconds: null, enabled: true, state: 'ok', lastTransitionAt: null, lastNotifiedAt: null, lastValue: null, createdBy: 'operator',
  createdAt: 0, updatedAt: 0, ...o,
});
const poll = (sourceId: string, failures: number, o: Partial<PollFigure> = {}): PollFigure => ({
  sourceId, name: sourceId.replace('src_', ''), polling: true, failures,
  lastError: failures > 0 ? { code: 'http_error', message: 'the provider answered 500', status: 500 } : null,
  retryAfterSeconds: null, lastPollAt: NOW - 60_000, nextPollAt: NOW + 3_600_000, ...o,
});
const figures = (polls: PollFigure[]): RoundFigures => ({ now: NOW, endpoints: [], attempts: [], queue: [], rejections: [], polls });

describe('poll_failures', () => {
  const polls = [
    poll('src_pages', 4),
    poll('src_billing', 7, { lastError: { code: 'timeout', message: 'no complete response within 30000 ms' }, nextPollAt: null }),
    poll('src_crm', 0),
    // Polling turned off after failing: its old run of failures is not a current one.
    poll('src_old', 9, { polling: false }),
  ];

  it('with a sourceId: that source\'s run of failed polls, whatever the others', () => {
    const m = measure(rule({ sourceId: 'src_pages' }), figures(polls));
    expect(m).toMatchObject({ value: 4, met: true, figures: { pollFailures: 4, sources: 1, failing: 1 } });
    expect(m.sources).toEqual([expect.objectContaining({ id: 'src_pages', name: 'pages', failures: 4, lastError: { code: 'http_error', message: 'the provider answered 500', status: 500 } })]);
    expect(measure(rule({ sourceId: 'src_pages' }, { op: '>', threshold: 4 }), figures(polls))).toMatchObject({ value: 4, met: false });
    // After a run that succeeds failures is 0 again, and the rule's own source is still named.
    const ok = measure(rule({ sourceId: 'src_crm' }), figures(polls));
    expect(ok).toMatchObject({ value: 0, met: false });
    expect(ok.sources.map((s) => [s.id, s.failures])).toEqual([['src_crm', 0]]);
  });

  it('without a scope: the worst of the sources that poll, the worst first; a source that stopped polling counts 0', () => {
    const m = measure(rule(), figures(polls));
    expect(m).toMatchObject({ value: 7, met: true, figures: { pollFailures: 7, sources: 3, failing: 2 } });
    expect(m.sources.map((s) => [s.id, s.failures])).toEqual([['src_billing', 7], ['src_pages', 4]]);
    expect((m.figures.worst as any[])[1]).toEqual({ id: 'src_pages', failures: 4, error: polls[0].lastError, nextPollAt: new Date(NOW + 3_600_000).toISOString() });
    expect(measure(rule({ sourceId: 'src_old' }), figures(polls))).toMatchObject({ value: 0, met: false });
    expect(measure(rule(), figures([]))).toMatchObject({ value: 0, met: false });
  });

  it('fires once, resolves after a successful run (failures 0)', () => {
    const r = rule({ sourceId: 'src_pages' });
    expect(decide(r, measure(r, figures([poll('src_pages', 2)])), NOW)).toBeNull();
    expect(decide(r, measure(r, figures([poll('src_pages', 3)])), NOW)).toBe('firing');
    const firing = { ...r, state: 'firing' as const, lastTransitionAt: NOW };
    expect(decide(firing, measure(r, figures([poll('src_pages', 5)])), NOW + 1000)).toBeNull();
    expect(decide(firing, measure(r, figures([poll('src_pages', 0)])), NOW + 1000)).toBe('resolved');
  });

  it('a round reads polls of every polling source only if a rule has no sourceId, and reads no endpoint for them', () => {
    expect(pollWatch([rule({ sourceId: 'src_a' }), rule({ sourceId: 'src_b' }), rule({ sourceId: 'src_a' })])).toEqual({ all: false, sourceIds: ['src_a', 'src_b'] });
    expect(pollWatch([rule({ sourceId: 'src_a' }), rule()])).toEqual({ all: true, sourceIds: ['src_a'] });
    expect(pollWatch([rule({}, { metric: 'source_rejections' })])).toEqual({ all: false, sourceIds: [] });
    expect(endpointScope([rule(), rule({ sourceId: 'src_a' })])).toEqual({ all: false, appIds: [], endpointIds: [] });
  });

  it('names the worst sources, each with its last error and when the next poll is due, and links the worst', () => {
    const limited = { lastError: { code: 'rate_limited', message: 'the provider answered 429', status: 429 }, retryAfterSeconds: 1200 };
    const many = [...polls, ...['a', 'b', 'c', 'd'].map((x) => poll(`src_${x}`, 1, limited))];
    const m = measure(rule(), figures(many));
    const msg = renderMessage(rule(), { kind: 'firing', measurement: m, breakdown: [], baseUrl: 'https://herald.example.com', now: NOW });
    const next = new Date(NOW + 3_600_000).toISOString();
    const a429 = `once (last error HTTP 429, rate_limited: the provider answered 429; next poll due at ${next}, in 1 h; the provider asked to wait 20 min)`;
    expect(msg.text.split('\n')[0]).toBe(
      '6 sources are failing to poll: '
      + 'billing 7 times in a row (last error timeout: no complete response within 30000 ms; next poll due now), '
      + `pages 4 times in a row (last error HTTP 500, http_error: the provider answered 500; next poll due at ${next}, in 1 h), `
      + `a ${a429}, b ${a429}, c ${a429}, and 1 more.`,
    );
    expect(msg.text).toContain('Open the source: https://herald.example.com/ui/#/sources/src_billing');
    expect(msg.text).toContain('POST /v1/sources/{id}/poll runs one now');
    expect(msg.subject).toBe('[Herald] Firing: polling');
    expect(msg.event.data).toMatchObject({ sourceId: null, value: 7, dashboardUrl: 'https://herald.example.com/ui/#/sources/src_billing' });
    expect((msg.event.data.sources as any[])[1]).toEqual({
      id: 'src_pages', name: 'pages', polling: true, failures: 4, lastError: polls[0].lastError, retryAfterSeconds: null,
      lastPollAt: new Date(NOW - 60_000).toISOString(), nextPollAt: next,
    });

    const one = rule({ sourceId: 'src_pages' });
    const fired = renderMessage(one, { kind: 'firing', measurement: measure(one, figures(polls)), breakdown: [], baseUrl: 'https://h', now: NOW });
    expect(fired.text.split('\n')[0]).toBe(`Source pages polling failed 4 times in a row (last error HTTP 500, http_error: the provider answered 500; next poll due at ${next}, in 1 h).`);
    const resolved = renderMessage(one, { kind: 'resolved', measurement: measure(one, figures([poll('src_pages', 0)])), breakdown: [], baseUrl: 'https://h', now: NOW });
    expect(resolved.text.split('\n')[0]).toBe('Resolved: Source pages polls without errors again.');
    // Slack's fallback text says it once, not "Resolved: Resolved: …".
    expect(resolved.slack.text).toBe('Resolved: Source pages polls without errors again.');
    expect(fired.slack.text).toMatch(/^Firing: Source pages polling failed 4 times/);
  });

  it('conditions: > by default, whole numbers, no window, never one that always holds', () => {
    expect(normaliseCondition({ metric: 'poll_failures', threshold: 3 })).toEqual({
      metric: 'poll_failures', op: '>', threshold: 3, windowSeconds: null, minAttempts: null, olderThanSeconds: null,
    });
    expect(normaliseCondition({ metric: 'poll_failures', op: '>=', threshold: 1 }).op).toBe('>=');
    for (const bad of [
      { metric: 'poll_failures' as const },
      { metric: 'poll_failures' as const, threshold: 2.5 },
      { metric: 'poll_failures' as const, op: '<' as const, threshold: 3 },
      { metric: 'poll_failures' as const, op: '>=' as const, threshold: 0 },
      { metric: 'poll_failures' as const, threshold: 3, windowSeconds: 60 },
      { metric: 'poll_failures' as const, threshold: 3, minAttempts: 5 },
      { metric: 'poll_failures' as const, threshold: 3, olderThanSeconds: 5 },
    ]) expect(() => normaliseCondition(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'invalid_alert_rule' }));
  });
});

describe('a round with poll_failures rules', () => {
  it('reads their figures in one call however many rules and sources, and no endpoint, source list or attempts for them', async () => {
    const calls: Record<string, unknown[]> = {};
    const record = (name: string, result: unknown) => async (...args: unknown[]) => {
      (calls[name] ??= []).push(args);
      return result;
    };
    const rules = [
      rule({ id: 'alr_1', sourceId: 'src_pages' }), rule({ id: 'alr_2', sourceId: 'src_billing' }), rule({ id: 'alr_3', sourceId: 'src_pages' }),
      rule({ id: 'alr_4' }, { op: '>', threshold: 5 }),
    ];
    const transitions: Array<{ ruleId: string; kind: string }> = [];
    const store = {
      enabledAlertRules: record('enabledAlertRules', rules),
      alertEndpoints: record('alertEndpoints', []),
      alertAttemptFigures: record('alertAttemptFigures', []),
      alertQueueFigures: record('alertQueueFigures', []),
      alertSources: record('alertSources', []),
      alertRejectionFigures: record('alertRejectionFigures', []),
      alertPollFigures: record('alertPollFigures', [poll('src_pages', 3), poll('src_billing', 1), poll('src_crm', 6)]),
      alertFailureBreakdown: record('alertFailureBreakdown', []),
      transitionAlert: async (t: { ruleId: string; kind: string }) => {
        transitions.push({ ruleId: t.ruleId, kind: t.kind });
        return true;
      },
    } as unknown as Store;
    const engine = new AlertEngine({ store, logger: pino({ level: 'silent' }), intervalMs: 3_600_000, baseUrl: () => 'https://h', onQueued: () => {} });
    expect(await engine.runOnce(NOW)).toBe(3);
    expect(calls.alertPollFigures).toEqual([[{ all: true, sourceIds: ['src_pages', 'src_billing'] }]]);
    expect(calls.alertEndpoints).toBeUndefined();
    expect(calls.alertSources).toBeUndefined();
    expect(calls.alertFailureBreakdown).toBeUndefined();
    expect(transitions).toEqual([{ ruleId: 'alr_1', kind: 'firing' }, { ruleId: 'alr_3', kind: 'firing' }, { ruleId: 'alr_4', kind: 'firing' }]);
  });
});
