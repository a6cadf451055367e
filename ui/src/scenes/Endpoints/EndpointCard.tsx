import type { Endpoint } from 'herald-webhooks/client';
import { StatusBadge } from '../../common/StatusBadge/StatusBadge';
import { useInterval } from '../../api/useAsync';
import { Link } from '../../router';
import { useScope } from '../../session';
import { duration, percent } from '../../utils/format';
import { relativeTime } from '../../utils/time';
import { useEndpointStats } from './useEndpoints';

export function endpointTitle(ep: Endpoint): string {
  return ep.type === 'relay' ? 'Relay (herald listen)' : ep.url;
}

/** One endpoint on the list: where it points, whether it is healthy, and how its deliveries went. */
export function EndpointCard({ endpoint }: { endpoint: Endpoint }) {
  const { app, base } = useScope();
  const stats = useEndpointStats(app, endpoint.id);
  useInterval(() => void stats.reload(true), 10_000);
  const s = stats.data;
  const failing = (s?.failedLast24h ?? 0) > 0;
  return (
    <article class="card endpoint-card" aria-label={`Endpoint ${endpointTitle(endpoint)}`}>
      <div class="card-head">
        <Link class="card-title url" to={`${base}/endpoints/${encodeURIComponent(endpoint.id)}`}>
          {endpointTitle(endpoint)}
        </Link>
        <div class="badges">
          <StatusBadge status={endpoint.status} />
          {endpoint.status === 'active' && <StatusBadge status={endpoint.circuitState} />}
        </div>
      </div>
      {endpoint.description && <p class="muted card-desc">{endpoint.description}</p>}
      <p class="muted small">
        {endpoint.events.includes('*') || endpoint.events.length === 0 ? 'Every event type' : endpoint.events.join(', ')}
      </p>
      <dl class="metrics">
        <div>
          <dt>Success rate</dt>
          <dd>{s ? percent(s.successRate) : '…'}</dd>
        </div>
        <div>
          <dt>Avg response</dt>
          <dd>{s ? duration(s.avgResponseMs) : '…'}</dd>
        </div>
        <div>
          <dt>Failed (24h)</dt>
          <dd class={failing ? 'bad-text' : undefined}>{s ? s.failedLast24h : '…'}</dd>
        </div>
        <div>
          <dt>Last delivery</dt>
          <dd>{s ? relativeTime(s.lastDeliveryAt) : '…'}</dd>
        </div>
      </dl>
      {endpoint.status === 'disabled' && endpoint.disabledReason && <p class="notice notice-warn small">Disabled: {endpoint.disabledReason}</p>}
    </article>
  );
}
