import type { Endpoint as EndpointT } from 'herald-webhooks/client';
import { useEffect, useState } from 'preact/hooks';
import { errorMessage, herald } from '../../api/client';
import { useAsync, useInterval } from '../../api/useAsync';
import { ConfirmDialog } from '../../common/ConfirmDialog/ConfirmDialog';
import { lazy } from '../../common/Lazy/Lazy';
import { PageHeader } from '../../common/Layout/Layout';
import { MetricsChart } from '../../common/MetricsChart/MetricsChart';
import { useTimeseries } from '../../common/MetricsChart/useTimeseries';
import { ErrorMessage, Loading } from '../../common/Notice/Notice';
import { StatusBadge } from '../../common/StatusBadge/StatusBadge';
import { Link, navigate } from '../../router';
import { useScope } from '../../session';
import { duration, percent } from '../../utils/format';
import { relativeTime } from '../../utils/time';
import { created } from '../EndpointForm/EndpointForm';
import { endpointTitle } from '../Endpoints/EndpointCard';
import { useEndpointStats } from '../Endpoints/useEndpoints';
import { Recover } from './Recover';
import { SecretPanel } from './SecretPanel';
import { SendTestEvent } from './SendTestEvent';

const FilterPanel = lazy(() => import('./FilterPanel').then((m) => m.FilterPanel), 'Loading the filter…');

/** One endpoint: its health, its last 24 hours, its secret, and the tools to test and recover it. */
export function Endpoint({ ep }: { ep: string }) {
  const { app } = useScope();
  const endpoint = useAsync(() => herald.endpoints.get(app, ep), [app, ep]);
  if (endpoint.loading && !endpoint.data) return <Loading />;
  if (endpoint.error !== undefined && !endpoint.data) return <ErrorMessage error={endpoint.error} onRetry={() => endpoint.reload()} />;
  return <EndpointView endpoint={endpoint.data!} onChange={(e) => endpoint.setData(e)} reload={() => endpoint.reload(true)} />;
}

function EndpointView({ endpoint, onChange, reload }: { endpoint: EndpointT; onChange: (e: EndpointT) => void; reload: () => void }) {
  const { app, base, can } = useScope();
  const stats = useEndpointStats(app, endpoint.id);
  const series = useTimeseries(app, endpoint.id);
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState('');
  const [newSecret] = useState(() => {
    if (created.id !== endpoint.id) return undefined;
    const s = created.secret;
    created.id = created.secret = undefined;
    return s;
  });
  useInterval(() => {
    void stats.reload(true);
    reload();
  }, 5000);
  // The chart follows the deliveries: drawn again when the totals move, at most every 5 s.
  const total = stats.data ? stats.data.total + stats.data.pending : undefined;
  useEffect(() => {
    if (total !== undefined && series.data) void series.reload(true);
  }, [total]);
  const manage = can('manage_endpoints');
  const s = stats.data;
  const enc = encodeURIComponent(endpoint.id);

  const toggle = async () => {
    setError('');
    try {
      onChange(await herald.endpoints.update(app, endpoint.id, { status: endpoint.status === 'active' ? 'disabled' : 'active' }));
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <section class="stack-lg">
      <PageHeader title={<span class="url">{endpointTitle(endpoint)}</span>} back={{ to: `${base}/endpoints`, label: 'Endpoints' }}>
        <SendTestEvent endpoint={endpoint} onSent={() => void stats.reload(true)} />
        {manage && (
          <>
            <Link class="btn" to={`${base}/endpoints/${enc}/edit`}>Edit</Link>
            <button type="button" class="btn" onClick={toggle}>{endpoint.status === 'active' ? 'Disable' : 'Enable'}</button>
            <button type="button" class="btn btn-danger-ghost" onClick={() => setDeleting(true)}>Delete</button>
          </>
        )}
      </PageHeader>
      {error && <p class="notice notice-error" role="alert">{error}</p>}
      {newSecret && (
        <div class="notice notice-success stack" role="status">
          <strong>Endpoint created.</strong>
          <span>Its signing secret is below; you can reveal it again later from this page.</span>
        </div>
      )}
      <div class="badges">
        <StatusBadge status={endpoint.status} />
        {endpoint.status === 'active' && <StatusBadge status={endpoint.circuitState} />}
        {endpoint.description && <span class="muted">{endpoint.description}</span>}
      </div>
      {endpoint.status === 'disabled' && (
        <p class="notice notice-warn">
          This endpoint is disabled{endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}. Deliveries wait until it is enabled again.
        </p>
      )}

      <section class="card" aria-labelledby="stats-h">
        <h2 id="stats-h">Deliveries</h2>
        {stats.error !== undefined && <ErrorMessage error={stats.error} />}
        <dl class="metrics metrics-wide">
          <div><dt>Success rate</dt><dd>{s ? percent(s.successRate) : '…'}</dd></div>
          <div><dt>Avg response</dt><dd>{s ? duration(s.avgResponseMs) : '…'}</dd></div>
          <div><dt>p95 response</dt><dd>{s ? duration(s.p95ResponseMs) : '…'}</dd></div>
          <div><dt>Failed (24h)</dt><dd class={s && s.failedLast24h > 0 ? 'bad-text' : undefined}>{s ? s.failedLast24h : '…'}</dd></div>
          <div><dt>Pending</dt><dd>{s ? s.pending : '…'}</dd></div>
          <div><dt>Total</dt><dd>{s ? s.total : '…'}</dd></div>
          <div><dt>Failures in a row</dt><dd>{s ? s.consecutiveFailures : '…'}</dd></div>
          <div><dt>Last delivery</dt><dd>{s ? relativeTime(s.lastDeliveryAt) : '…'}</dd></div>
        </dl>
        <p>
          <Link to={`${base}/deliveries?endpointId=${enc}`}>View this endpoint's deliveries</Link>
          {' · '}
          <Link to={`${base}/deliveries?endpointId=${enc}&status=failed`}>View failed deliveries</Link>
        </p>
      </section>

      <section class="card stack" aria-labelledby="chart-h">
        <h2 id="chart-h">Last 24 hours</h2>
        {series.loading && !series.data && <Loading label="Loading activity…" />}
        {series.error !== undefined && <ErrorMessage error={series.error} onRetry={() => series.reload()} />}
        {series.data && (
          <div class="charts">
            <MetricsChart data={series.data} kind="deliveries" title="Deliveries per minute" />
            <MetricsChart data={series.data} kind="latency" title="Response time (p50 / p95)" />
          </div>
        )}
      </section>

      <SecretPanel ep={endpoint.id} initial={newSecret} />
      <Recover ep={endpoint.id} onRecovered={() => void stats.reload(true)} />
      <FilterPanel endpoint={endpoint} />

      <section class="card stack" aria-labelledby="config-h">
        <h2 id="config-h">Configuration</h2>
        <dl class="kv">
          <dt>Events</dt>
          <dd>{endpoint.events.length === 0 || endpoint.events.includes('*') ? 'Every event type' : endpoint.events.map((e) => <code key={e} class="chip">{e}</code>)}</dd>
          <dt>Custom headers</dt>
          <dd>{Object.keys(endpoint.headers).length === 0 ? 'None' : Object.entries(endpoint.headers).map(([k, v]) => <div key={k}><code>{k}: {v}</code></div>)}</dd>
          <dt>Rate limit</dt>
          <dd>{endpoint.rateLimit != null ? `${endpoint.rateLimit} per second` : 'None'}</dd>
          <dt>Retry schedule</dt>
          <dd>{endpoint.retrySchedule ? endpoint.retrySchedule.map((x) => `${x} s`).join(', ') : 'Server default'}</dd>
          <dt>Timeout</dt>
          <dd>{endpoint.timeoutMs != null ? duration(endpoint.timeoutMs) : 'Server default'}</dd>
          <dt>Endpoint id</dt>
          <dd><code>{endpoint.id}</code></dd>
        </dl>
      </section>

      <ConfirmDialog
        title="Delete endpoint"
        open={deleting}
        danger
        confirmLabel="Delete endpoint"
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await herald.endpoints.delete(app, endpoint.id);
          navigate(`${base}/endpoints`);
        }}
      >
        <p>
          Delete <strong class="url">{endpointTitle(endpoint)}</strong>? It stops receiving events at once, and its pending deliveries are dropped. This can't be undone.
        </p>
      </ConfirmDialog>
    </section>
  );
}
