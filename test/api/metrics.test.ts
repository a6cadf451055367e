import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { appWithEndpoint, eventually } from '../helpers/herald.js';

const f = fixtures();

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('/metrics', () => {
  it('counts published events but not test events, and has the process metrics', async () => {
    const t = await f.herald();
    const r = await f.receiver();
    const { appId, endpointId } = await appWithEndpoint(t, r.url);
    await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/test`);
    await r.waitFor(1);
    await t.api('POST', `/v1/apps/${appId}/events`, { type: 'a.b', data: {} });
    const text = await eventually(async () => {
      const body = (await t.api('GET', '/metrics')).body as string;
      return metric(body, 'herald_deliveries_total\\{outcome="success"\\}') === 2 && body;
    });
    expect(metric(text, 'herald_events_published_total')).toBe(1);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(text, name).toMatch(new RegExp(`^${name} `, 'm'));
    }
  });
});
