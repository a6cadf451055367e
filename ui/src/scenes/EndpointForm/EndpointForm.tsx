import type { Endpoint, EndpointCreate } from 'herald-webhooks/client';
import { useState } from 'preact/hooks';
import { herald } from '../../api/client';
import { useAsync } from '../../api/useAsync';
import { EventPicker } from '../../common/EventPicker/EventPicker';
import { HeadersEditor, headersFromRows, rowsFromHeaders, type HeaderRow } from '../../common/HeadersEditor/HeadersEditor';
import { PageHeader } from '../../common/Layout/Layout';
import { ErrorMessage, Loading } from '../../common/Notice/Notice';
import { navigate } from '../../router';
import { useScope } from '../../session';

/** The secret of an endpoint just created, shown once on its page. */
export const created: { id?: string; secret?: string } = {};

interface Draft {
  url: string;
  description: string;
  events: string[];
  headers: HeaderRow[];
  rateLimit: string;
  retrySchedule: string;
  timeoutSeconds: string;
}

function draftOf(ep?: Endpoint): Draft {
  return {
    url: ep?.url ?? '',
    description: ep?.description ?? '',
    events: !ep || ep.events.length === 0 ? ['*'] : ep.events,
    headers: rowsFromHeaders(ep?.headers),
    rateLimit: ep?.rateLimit != null ? String(ep.rateLimit) : '',
    retrySchedule: ep?.retrySchedule ? ep.retrySchedule.join(', ') : '',
    timeoutSeconds: ep?.timeoutMs != null ? String(ep.timeoutMs / 1000) : '',
  };
}

/** The draft as an API body, or the first thing a person has to fix. */
export function bodyOf(d: Draft): { body: EndpointCreate } | { problem: string; field: string } {
  const url = d.url.trim();
  if (!url) return { problem: 'Enter the URL that should receive the webhooks.', field: 'url' };
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error();
  } catch {
    return { problem: 'The URL must be a full address like https://example.com/webhooks.', field: 'url' };
  }
  if (d.events.length === 0) return { problem: 'Pick at least one event type, or every event type.', field: 'events' };
  let rateLimit: number | null = null;
  if (d.rateLimit.trim()) {
    rateLimit = Number(d.rateLimit);
    if (!Number.isFinite(rateLimit) || rateLimit <= 0) return { problem: 'The rate limit is a number of deliveries per second, like 10 or 0.5.', field: 'rateLimit' };
  }
  let retrySchedule: number[] | null = null;
  if (d.retrySchedule.trim()) {
    retrySchedule = d.retrySchedule.split(/[\s,]+/).filter(Boolean).map(Number);
    if (retrySchedule.some((n) => !Number.isFinite(n) || n < 0)) return { problem: 'The retry schedule is a list of delays in seconds, like 5, 300, 3600.', field: 'retrySchedule' };
  }
  let timeoutMs: number | null = null;
  if (d.timeoutSeconds.trim()) {
    const s = Number(d.timeoutSeconds);
    if (!Number.isFinite(s) || s < 0.1 || s > 300) return { problem: 'The timeout is between 0.1 and 300 seconds.', field: 'timeoutSeconds' };
    timeoutMs = Math.round(s * 1000);
  }
  return {
    body: {
      url, description: d.description.trim() || null, events: d.events, headers: headersFromRows(d.headers),
      rateLimit, retrySchedule, timeoutMs,
    },
  };
}

/** Add endpoint / Edit endpoint. */
export function EndpointForm({ ep }: { ep?: string }) {
  const { app, base, can } = useScope();
  const existing = useAsync(() => (ep ? herald.endpoints.get(app, ep) : Promise.resolve(undefined)), [app, ep]);
  if (ep && existing.loading) return <Loading />;
  if (existing.error !== undefined) return <ErrorMessage error={existing.error} onRetry={() => existing.reload()} />;
  if (!can('manage_endpoints')) return <ErrorMessage error={new Error("You don't have permission to change endpoints.")} />;
  return <Form key={ep ?? 'new'} app={app} base={base} endpoint={existing.data} />;
}

function Form({ app, base, endpoint }: { app: string; base: string; endpoint?: Endpoint }) {
  const [d, setD] = useState<Draft>(() => draftOf(endpoint));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));
  const cancelTo = endpoint ? `${base}/endpoints/${encodeURIComponent(endpoint.id)}` : `${base}/endpoints`;

  const submit = async (e: Event) => {
    e.preventDefault();
    const r = bodyOf(d);
    if ('problem' in r) {
      setError(new Error(r.problem));
      document.getElementById(`f-${r.field}`)?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (endpoint) {
        await herald.endpoints.update(app, endpoint.id, r.body);
        navigate(cancelTo);
      } else {
        const made = await herald.endpoints.create(app, r.body);
        created.id = made.id;
        created.secret = made.secret;
        navigate(`${base}/endpoints/${encodeURIComponent(made.id)}`);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <PageHeader title={endpoint ? 'Edit endpoint' : 'Add endpoint'} back={{ to: cancelTo, label: endpoint ? 'Endpoint' : 'Endpoints' }} />
      <form class="card form stack" onSubmit={submit} noValidate>
        <label>
          <span class="label">Endpoint URL</span>
          <input id="f-url" type="url" inputMode="url" required value={d.url} placeholder="https://example.com/webhooks" autocomplete="off" onInput={(e) => set({ url: e.currentTarget.value })} />
        </label>
        <label>
          <span class="label">Description <span class="muted">(optional)</span></span>
          <input id="f-description" type="text" value={d.description} placeholder="Production webhook" onInput={(e) => set({ description: e.currentTarget.value })} />
        </label>
        <div id="f-events" tabIndex={-1}>
          <EventPicker value={d.events} onChange={(events) => set({ events })} />
        </div>
        <details class="advanced">
          <summary>Advanced: headers, rate limit, retries, timeout</summary>
          <div class="stack">
            <HeadersEditor rows={d.headers} onChange={(headers) => set({ headers })} />
            <div class="grid-3">
              <label>
                <span class="label">Rate limit <span class="muted">(deliveries per second)</span></span>
                <input id="f-rateLimit" type="text" inputMode="decimal" value={d.rateLimit} placeholder="no limit" onInput={(e) => set({ rateLimit: e.currentTarget.value })} />
              </label>
              <label>
                <span class="label">Retry schedule <span class="muted">(seconds)</span></span>
                <input id="f-retrySchedule" type="text" value={d.retrySchedule} placeholder="server default" onInput={(e) => set({ retrySchedule: e.currentTarget.value })} />
              </label>
              <label>
                <span class="label">Timeout <span class="muted">(seconds)</span></span>
                <input id="f-timeoutSeconds" type="text" inputMode="decimal" value={d.timeoutSeconds} placeholder="server default" onInput={(e) => set({ timeoutSeconds: e.currentTarget.value })} />
              </label>
            </div>
          </div>
        </details>
        {error !== undefined && <ErrorMessage error={error} />}
        <div class="actions">
          <button type="button" class="btn" onClick={() => navigate(cancelTo)}>Cancel</button>
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? 'Saving…' : endpoint ? 'Save changes' : 'Create endpoint'}
          </button>
        </div>
      </form>
    </section>
  );
}
