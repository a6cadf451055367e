import type { Delivery, Endpoint } from 'herald-webhooks/client';
import { useMemo, useState } from 'preact/hooks';
import { useEventTypes } from '../../common/EventPicker/useEventTypes';
import { PageHeader } from '../../common/Layout/Layout';
import { Empty, ErrorMessage, Loading } from '../../common/Notice/Notice';
import { RetryDeliveryButton } from '../../common/RetryDeliveryButton/RetryDeliveryButton';
import { StatusBadge } from '../../common/StatusBadge/StatusBadge';
import { href, Link } from '../../router';
import { useScope } from '../../session';
import { shortId } from '../../utils/format';
import { formatDateTime, relativeTime } from '../../utils/time';
import { endpointTitle } from '../Endpoints/EndpointCard';
import { useEndpoints } from '../Endpoints/useEndpoints';
import { useDeliveryLog, type Filters } from './useDeliveryLog';

function filtersFromUrl(): Filters {
  const q = new URLSearchParams(location.search);
  const status = q.get('status');
  return {
    status: status === 'failed' || status === 'pending' || status === 'success' ? status : undefined,
    eventType: q.get('eventType') || undefined,
    endpointId: q.get('endpointId') || undefined,
    eventId: q.get('eventId') || undefined,
  };
}

/** The delivery log: every delivery, newest first, live. */
export function Deliveries() {
  const { app, base } = useScope();
  const [filters, setFilters] = useState<Filters>(filtersFromUrl);
  const [eventId, setEventId] = useState(filters.eventId ?? '');
  const log = useDeliveryLog(app, filters);
  const endpoints = useEndpoints(app);
  const types = useEventTypes();
  const byId = useMemo(() => new Map((endpoints.data ?? []).map((e) => [e.id, e])), [endpoints.data]);

  const apply = (patch: Partial<Filters>) => {
    const next = { ...filters, ...patch };
    setFilters(next);
    const q = new URLSearchParams(Object.entries(next).filter(([, v]) => v) as Array<[string, string]>).toString();
    history.replaceState(null, '', href(`${base}/deliveries${q ? `?${q}` : ''}`));
  };
  const filtered = Object.values(filters).some(Boolean);

  return (
    <section>
      <PageHeader title="Delivery log">
        <span class="live" aria-live="off"><span class="live-dot" aria-hidden="true" /> Live</span>
      </PageHeader>
      <form class="filters" role="search" aria-label="Filter deliveries" onSubmit={(e) => { e.preventDefault(); apply({ eventId: eventId.trim() || undefined }); }}>
        <label>
          <span class="label">Status</span>
          <select value={filters.status ?? ''} onChange={(e) => apply({ status: (e.currentTarget.value || undefined) as Filters['status'] })}>
            <option value="">All</option>
            <option value="failed">Failed</option>
            <option value="pending">Pending</option>
            <option value="success">Succeeded</option>
          </select>
        </label>
        <label>
          <span class="label">Event type</span>
          <select value={filters.eventType ?? ''} onChange={(e) => apply({ eventType: e.currentTarget.value || undefined })}>
            <option value="">All</option>
            {filters.eventType && !(types.data ?? []).some((t) => t.name === filters.eventType) && <option value={filters.eventType}>{filters.eventType}</option>}
            <option value="webhook.test">webhook.test</option>
            {(types.data ?? []).filter((t) => t.name !== 'webhook.test').map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
          </select>
        </label>
        <label>
          <span class="label">Endpoint</span>
          <select value={filters.endpointId ?? ''} onChange={(e) => apply({ endpointId: e.currentTarget.value || undefined })}>
            <option value="">All</option>
            {filters.endpointId && !byId.has(filters.endpointId) && <option value={filters.endpointId}>{filters.endpointId}</option>}
            {(endpoints.data ?? []).map((ep) => <option key={ep.id} value={ep.id}>{endpointTitle(ep)}</option>)}
          </select>
        </label>
        <label>
          <span class="label">Event id</span>
          <input type="search" value={eventId} placeholder="evt_…" onInput={(e) => setEventId(e.currentTarget.value)} onBlur={() => eventId.trim() !== (filters.eventId ?? '') && apply({ eventId: eventId.trim() || undefined })} />
        </label>
        {filtered && (
          <button type="button" class="btn btn-ghost" onClick={() => { setEventId(''); apply({ status: undefined, eventType: undefined, endpointId: undefined, eventId: undefined }); }}>
            Clear filters
          </button>
        )}
      </form>

      {log.error !== undefined && <ErrorMessage error={log.error} onRetry={() => log.refresh()} />}
      {log.loading && log.items.length === 0 && <Loading />}
      {!log.loading && log.items.length === 0 && log.error === undefined && (
        <Empty title={filtered ? 'No deliveries match these filters' : 'No deliveries yet'}>
          <p class="muted">{filtered ? 'Try other filters.' : 'Deliveries appear here as soon as events are sent to your endpoints.'}</p>
        </Empty>
      )}
      {log.items.length > 0 && (
        <ul class="log" aria-label="Deliveries">
          {log.items.map((d) => <DeliveryRow key={d.id} d={d} endpoint={byId.get(d.endpointId)} onRetried={log.refresh} />)}
        </ul>
      )}
      {log.items.length > 0 && !log.done && (
        <div class="center">
          <button type="button" class="btn" disabled={log.loadingMore} onClick={log.loadMore}>{log.loadingMore ? 'Loading…' : 'Load more'}</button>
        </div>
      )}
    </section>
  );
}

function DeliveryRow({ d, endpoint, onRetried }: { d: Delivery; endpoint?: Endpoint; onRetried: () => void }) {
  const { base } = useScope();
  const response = d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : d.lastError ? d.lastError : d.status === 'pending' ? (d.heldReason ? `held: ${d.heldReason.replace(/_/g, ' ')}` : 'waiting') : '—';
  return (
    <li class={`log-row status-${d.status}`} data-delivery-id={d.id}>
      <span class="log-status"><StatusBadge status={d.status} /></span>
      <span class="log-main">
        <Link class="log-type" to={`${base}/deliveries/${encodeURIComponent(d.id)}`} aria-label={`${d.eventType} delivery ${d.id}, ${d.status}`}>
          {d.eventType}
        </Link>
        <span class="muted small url">{endpoint ? endpointTitle(endpoint) : shortId(d.endpointId)}</span>
      </span>
      <span class="log-resp small" title={d.lastError ?? undefined}>{response}</span>
      <span class="log-attempts small muted">{d.attemptCount} {d.attemptCount === 1 ? 'attempt' : 'attempts'}</span>
      <time class="log-time small muted" dateTime={d.createdAt} title={formatDateTime(d.createdAt)}>{relativeTime(d.createdAt)}</time>
      <span class="log-actions">{d.status === 'failed' && <RetryDeliveryButton deliveryId={d.id} onRetried={onRetried} small />}</span>
    </li>
  );
}
