import type { Endpoint, EndpointStats } from 'herald-webhooks/client';
import { herald } from '../../api/client';
import { useAsync } from '../../api/useAsync';

export function useEndpoints(app: string) {
  return useAsync<Endpoint[]>(() => herald.endpoints.list(app, { limit: 100 }).toArray(1000), [app]);
}

export function useEndpointStats(app: string, ep: string) {
  return useAsync<EndpointStats>(() => herald.endpoints.stats(app, ep), [app, ep]);
}
