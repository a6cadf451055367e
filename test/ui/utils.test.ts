import { describe, expect, it } from 'vitest';
import { fillBuckets } from '../../ui/src/utils/buckets.js';
import { groupEventTypes, normalizeSubscriptions } from '../../ui/src/utils/events.js';
import { duration, percent, prettyJson, shortId } from '../../ui/src/utils/format.js';
import { cleanTheme, contrastText, linkTheme, mergeTheme, themeFromQuery, validColor, validLogoUrl } from '../../ui/src/utils/theme.js';
import { relativeTime } from '../../ui/src/utils/time.js';

/** The UI's pure helpers. */
describe('UI helpers', () => {
  it('says when, as a person would', () => {
    const now = Date.parse('2025-01-31T12:00:00Z');
    expect(relativeTime('2025-01-31T11:58:00Z', now)).toBe('2 minutes ago');
    expect(relativeTime('2025-01-31T11:59:59Z', now)).toBe('just now');
    expect(relativeTime('2025-01-31T11:00:00Z', now)).toBe('1 hour ago');
    expect(relativeTime('2025-01-29T12:00:00Z', now)).toBe('2 days ago');
    expect(relativeTime('2025-01-31T12:00:30Z', now)).toBe('in 30 seconds');
    expect(relativeTime(null, now)).toBe('never');
  });

  it('formats the dashboard figures', () => {
    expect(percent(0.992)).toBe('99.2 %');
    expect(percent(1)).toBe('100 %');
    expect(percent(0.99999)).toBe('99.9 %');
    expect(percent(null)).toBe('—');
    expect(duration(145)).toBe('145 ms');
    expect(duration(2300)).toBe('2.3 s');
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson('<b>not json</b>')).toBe('<b>not json</b>');
    expect(shortId('dlv_01HZXABCDEFGHJKMNPQRSTVWXY')).toBe('dlv_01HZ…VWXY');
  });

  it('accepts only hex colours and https logos from a portal URL', () => {
    expect(validColor('#4f46e5')).toBe(true);
    expect(validColor('#abc')).toBe(true);
    for (const bad of ['red', '#4f46e5;background:url(x)', 'rgb(1,2,3)', '#12345', 'expression(alert(1))']) expect(validColor(bad), bad).toBe(false);
    expect(validLogoUrl('https://cdn.example.com/logo.svg')).toBe(true);
    for (const bad of ['javascript:alert(1)', 'http://example.com/x.png', 'data:image/svg+xml,<svg onload=alert(1)>', '//example.com/x.png']) expect(validLogoUrl(bad), bad).toBe(false);
    // A link sets colour and dark mode only: name and logo come from the app's settings, never a crafted URL.
    expect(themeFromQuery('?primaryColor=%23e11d48&dark=1&productName=Acme&logoUrl=https://evil.example/x.png')).toEqual({
      primaryColor: '#e11d48', darkMode: true,
    });
    expect(themeFromQuery('?primaryColor=red&logoUrl=javascript:alert(1)')).toEqual({});
    expect(themeFromQuery('?dark=0').darkMode).toBe(false);
    expect(cleanTheme({ primaryColor: 'red', logoUrl: 'https://x.example/l.png', darkMode: 'yes' })).toEqual({ logoUrl: 'https://x.example/l.png' });
    expect(mergeTheme({ productName: 'App', primaryColor: '#000000' }, { primaryColor: '#ffffff' })).toEqual({ productName: 'App', primaryColor: '#ffffff' });
    expect(linkTheme({ productName: 'Evil', logoUrl: 'https://evil.example/x.png', primaryColor: '#ffffff', darkMode: false })).toEqual({ primaryColor: '#ffffff', darkMode: false });
    expect(mergeTheme({ productName: 'App', logoUrl: 'https://x.example/l.png' }, { productName: 'Evil', logoUrl: 'https://evil.example/x.png' } as never)).toEqual({ productName: 'App', logoUrl: 'https://x.example/l.png' });
    expect(contrastText('#ffffff')).toBe('#000000');
    expect(contrastText('#1e1b4b')).toBe('#ffffff');
  });

  it('groups the catalogue for the event picker and drops covered subscriptions', () => {
    expect(groupEventTypes(['person.deleted', 'invoice.paid', 'person.created'])).toEqual([
      { prefix: 'invoice', wildcard: 'invoice.*', types: ['invoice.paid'] },
      { prefix: 'person', wildcard: 'person.*', types: ['person.created', 'person.deleted'] },
    ]);
    expect(normalizeSubscriptions(['person.*', 'person.created', 'invoice.paid'])).toEqual(['person.*', 'invoice.paid']);
    expect(normalizeSubscriptions(['person.note.*', 'person.*'])).toEqual(['person.*']);
    expect(normalizeSubscriptions(['a.b', '*'])).toEqual(['*']);
  });

  it('fills the empty minutes of a time series', () => {
    const s = fillBuckets({
      bucketSeconds: 60, since: '2025-01-31T12:00:00Z', until: '2025-01-31T12:04:00Z',
      points: [{ t: '2025-01-31T12:01:00Z', succeeded: 3, failed: 1, p50Ms: 40, p95Ms: 90 }],
    });
    expect(s.t).toHaveLength(5);
    expect(s.succeeded).toEqual([0, 3, 0, 0, 0]);
    expect(s.failed).toEqual([0, 1, 0, 0, 0]);
    expect(s.p95).toEqual([null, 90, null, null, null]);
  });
});
