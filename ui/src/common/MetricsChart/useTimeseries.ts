import { endpointExtras, type Timeseries } from '../../api/resources';
import { useAsync } from '../../api/useAsync';

/** The last 24 h of an endpoint's deliveries, in one-minute buckets. */
export function useTimeseries(app: string, ep: string) {
  return useAsync<Timeseries>(() => {
    const until = Date.now();
    return endpointExtras.timeseries(app, ep, { since: new Date(until - 24 * 3600_000).toISOString(), until: new Date(until).toISOString(), bucketSeconds: 60 });
  }, [app, ep]);
}
