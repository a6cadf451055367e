import type { Endpoint, EndpointCreate } from 'herald-webhooks/client';
import { useState } from 'preact/hooks';
import { herald, problemOf } from '../../api/client';
import { useAsync } from '../../api/useAsync';
import { EventPicker } from '../../common/EventPicker/EventPicker';
import { lazy } from '../../common/Lazy/Lazy';
import { HeadersEditor, headersFromRows, rowsFromHeaders, type HeaderRow } from '../../common/HeadersEditor/HeadersEditor';
import { PageHeader } from '../../common/Layout/Layout';
import { ErrorMessage, Loading } from '../../common/Notice/Notice';
import { navigate } from '../../router';
import { useScope } from '../../session';
import { addChannels, channelProblem, filterText, parseFilter, splitChannels, type FieldProblem } from '../../utils/filters';

const FilterSection = lazy(() => import('./FilterSection').then((m) => m.FilterSection), 'Loading the filter editor…');
const TransformSection = lazy(() => import('./TransformSection').then((m) => m.TransformSection), 'Loading the transform editor…');

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
  /** the filter box's text: '' for none */
  filter: string;
  channels: string[];
  /** typed in the channels box, not yet a chip */
  channelText: string;
  /** the transform's JavaScript: '' for none */
  transform: string;
}

/** The fields whose problems show beside them rather than under the form. */
type FieldProblems = { filter?: FieldProblem; channels?: FieldProblem; transform?: FieldProblem };

function draftOf(ep?: Endpoint): Draft {
  return {
    url: ep?.url ?? '',
    description: ep?.description ?? '',
    events: !ep || ep.events.length === 0 ? ['*'] : ep.events,
    headers: rowsFromHeaders(ep?.headers),
    rateLimit: ep?.rateLimit != null ? String(ep.rateLimit) : '',
    retrySchedule: ep?.retrySchedule ? ep.retrySchedule.join(', ') : '',
    timeoutSeconds: ep?.timeoutMs != null ? String(ep.timeoutMs / 1000) : '',
    filter: filterText(ep?.filter),
    channels: ep?.channels ?? [],
    channelText: '',
    transform: ep?.transform ?? '',
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
  const filter = parseFilter(d.filter);
  if ('problem' in filter) return { problem: `The filter: ${filter.problem}`, field: 'filter' };
  const channels = addChannels(d.channels, splitChannels(d.channelText));
  const cp = channelProblem(channels);
  if (cp) return { problem: cp, field: 'channels' };
  return {
    body: {
      url, description: d.description.trim() || null, events: d.events, headers: headersFromRows(d.headers),
      rateLimit, retrySchedule, timeoutMs,
      // null removes them; the server stores {} and [] as null too.
      filter: filter.filter, channels: channels.length > 0 ? channels : null,
      transform: d.transform.trim() ? d.transform : null,
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
  const [problems, setProblems] = useState<FieldProblems>({});
  const [narrowing, setNarrowing] = useState(() => !!(endpoint?.filter || endpoint?.channels?.length));
  const [transforming, setTransforming] = useState(() => !!endpoint?.transform);
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));
  /** The filter and channels section opened, and the field with the problem focused. */
  const showField = (field: 'filter' | 'channels') => {
    setNarrowing(true);
    setTimeout(() => document.getElementById(`f-${field}`)?.focus(), 0);
  };
  const cancelTo = endpoint ? `${base}/endpoints/${encodeURIComponent(endpoint.id)}` : `${base}/endpoints`;

  const submit = async (e: Event) => {
    e.preventDefault();
    const r = bodyOf(d);
    if ('problem' in r) {
      if (r.field === 'filter' || r.field === 'channels') {
        setProblems({ [r.field]: { message: r.problem } });
        setError(new Error(`Check the ${r.field === 'filter' ? 'filter' : 'channels'} above.`));
        showField(r.field);
        return;
      }
      setError(new Error(r.problem));
      document.getElementById(`f-${r.field}`)?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    setProblems({});
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
      // A 422 about the filter or the channels is shown beside them.
      const p = problemOf(err);
      if (p && p.field === 'transform') {
        setProblems({ transform: p.problem });
        setError(new Error('Check the transform above.'));
        setTransforming(true);
        setTimeout(() => document.getElementById('f-transform')?.focus(), 0);
      } else if (p && (p.field === 'filter' || p.field === 'channels')) {
        setProblems({ [p.field]: p.problem });
        setError(new Error(`Check the ${p.field === 'filter' ? 'filter' : 'channels'} above.`));
        showField(p.field);
      } else {
        setError(err);
      }
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
        <details class="advanced" open={narrowing} onToggle={(e) => setNarrowing(e.currentTarget.open)}>
          <summary>Filter and channels <span class="muted">(optional: only some events of these types)</span></summary>
          <FilterSection
            filter={d.filter}
            events={d.events}
            channels={d.channels}
            channelText={d.channelText}
            problems={problems}
            onFilter={(filter) => {
              set({ filter });
              if (problems.filter) setProblems((p) => ({ ...p, filter: undefined }));
            }}
            onChannels={(channels, channelText) => {
              set({ channels, channelText });
              if (problems.channels) setProblems((p) => ({ ...p, channels: undefined }));
            }}
          />
        </details>
        <details class="advanced" open={transforming} onToggle={(e) => setTransforming(e.currentTarget.open)}>
          <summary>Transform <span class="muted">(optional: change what is sent, or skip)</span></summary>
          {transforming && (
            <TransformSection
              app={app}
              endpointId={endpoint?.id}
              events={d.events}
              source={d.transform}
              saved={problems.transform}
              onSource={(transform) => {
                set({ transform });
                if (problems.transform) setProblems((p) => ({ ...p, transform: undefined }));
              }}
            />
          )}
        </details>
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
