import type { Event } from 'herald-webhooks/client';
import { herald } from '../../api/client';
import { useAsync, useInterval } from '../../api/useAsync';
import { JSONViewer } from '../../common/JSONViewer/JSONViewer';
import { PageHeader } from '../../common/Layout/Layout';
import { ErrorMessage, Loading } from '../../common/Notice/Notice';
import { RetryDeliveryButton } from '../../common/RetryDeliveryButton/RetryDeliveryButton';
import { StatusBadge } from '../../common/StatusBadge/StatusBadge';
import { Link } from '../../router';
import { useScope } from '../../session';
import { duration } from '../../utils/format';
import { formatDateTime, relativeTime } from '../../utils/time';
import { endpointTitle } from '../Endpoints/EndpointCard';

/** What a receiver got, byte for byte apart from spacing: the envelope Herald renders at publish. */
export function envelopeOf(e: Event): unknown {
  return { id: e.id, type: e.type, timestamp: e.timestamp, sequence: e.sequence, data: e.data };
}

/** One delivery: the event as sent, the headers, and every attempt with the receiver's answer. */
export function Delivery({ id }: { id: string }) {
  const { app, base } = useScope();
  const delivery = useAsync(() => herald.deliveries.get(app, id), [app, id]);
  const d = delivery.data;
  const sent = d?.request ?? null;
  // What was sent comes with the delivery; without it (endpoint gone), the event as stored.
  const event = useAsync(() => (d && !sent ? herald.events.get(app, d.eventId) : Promise.resolve(undefined)), [app, d?.eventId, !sent]);
  const endpoint = useAsync(() => (d ? herald.endpoints.get(app, d.endpointId).catch(() => undefined) : Promise.resolve(undefined)), [app, d?.endpointId]);
  // Live while something can still change: a pending delivery, or one just retried.
  useInterval(() => void delivery.reload(true), 2000, !d || d.status === 'pending');

  if (delivery.loading && !d) return <Loading />;
  if (!d) return <ErrorMessage error={delivery.error} onRetry={() => delivery.reload()} />;
  const attempts = [...d.attempts].sort((a, b) => b.number - a.number);
  const ep = endpoint.data;
  return (
    <section class="stack-lg">
      <PageHeader title={d.eventType} back={{ to: `${base}/deliveries`, label: 'Delivery log' }}>
        {d.status === 'failed' && <RetryDeliveryButton deliveryId={d.id} onRetried={() => void delivery.reload(true)} />}
      </PageHeader>
      <section class="card" aria-label="Summary">
        <dl class="kv">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={d.status} />
            {d.status === 'pending' && d.nextAttemptAt && <span class="muted"> next attempt {relativeTime(d.nextAttemptAt)}</span>}
            {d.heldReason && <span class="muted"> held: {d.heldReason.replace(/_/g, ' ')}</span>}
          </dd>
          <dt>Endpoint</dt>
          <dd>{ep ? <Link class="url" to={`${base}/endpoints/${encodeURIComponent(ep.id)}`}>{endpointTitle(ep)}</Link> : <code>{d.endpointId}</code>}</dd>
          <dt>Created</dt>
          <dd>{formatDateTime(d.createdAt)} <span class="muted">({relativeTime(d.createdAt)})</span></dd>
          <dt>Delivered</dt>
          <dd>{d.deliveredAt ? formatDateTime(d.deliveredAt) : '—'}</dd>
          <dt>Attempts</dt>
          <dd>{d.attemptCount}</dd>
          <dt>Event id</dt>
          <dd><code>{d.eventId}</code></dd>
          <dt>Delivery id</dt>
          <dd><code>{d.id}</code></dd>
          {d.orderingKey && (<><dt>Ordering key</dt><dd><code>{d.orderingKey}</code></dd></>)}
        </dl>
      </section>

      <section class="card stack" aria-labelledby="attempts-h">
        <h2 id="attempts-h">Attempts</h2>
        {attempts.length === 0 && <p class="muted">No attempt yet.</p>}
        <ol class="attempts" reversed>
          {attempts.map((a) => (
            <li key={a.id} class="attempt">
              <div class="attempt-head">
                <strong>Attempt {a.number}</strong>
                <StatusBadge status={a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300 ? 'success' : 'failed'} label={a.statusCode !== null ? `HTTP ${a.statusCode}` : 'No response'} />
                <span class="muted small">{formatDateTime(a.startedAt)} · {duration(a.durationMs)}</span>
              </div>
              {a.error && <p class="error-text">{a.error}</p>}
              {a.responseBody !== null && a.responseBody !== '' ? (
                <JSONViewer value={a.responseBody} raw label={`Response body of attempt ${a.number}`} />
              ) : (
                <p class="muted small">Empty response body.</p>
              )}
            </li>
          ))}
        </ol>
      </section>

      <section class="card stack" aria-labelledby="payload-h">
        <h2 id="payload-h">Payload</h2>
        {sent ? (
          <JSONViewer value={sent.body} label="Payload sent" />
        ) : (
          <>
            {event.error !== undefined && <ErrorMessage error={event.error} />}
            {event.data ? <JSONViewer value={envelopeOf(event.data)} label="Payload" /> : event.error === undefined && <Loading />}
          </>
        )}
      </section>

      <section class="card stack" aria-labelledby="headers-h">
        <h2 id="headers-h">Headers sent</h2>
        {sent ? (
          <>
            <p class="small muted">
              <code class="url">POST {sent.url}</code> · signatures (<code>webhook-signature</code>, <code>x-webhook-signature</code>) are computed for each attempt and not shown.
            </p>
            <table class="table headers-table">
              <thead><tr><th scope="col">Header</th><th scope="col">Value</th></tr></thead>
              <tbody>
                {Object.entries(sent.headers).map(([k, v]) => (
                  <tr key={k}><td><code>{k}</code></td><td><code>{v}</code></td></tr>
                ))}
              </tbody>
            </table>
          </>
        ) : (
          <p class="muted">Not available: the endpoint or the event no longer exists.</p>
        )}
      </section>
    </section>
  );
}
