import type { InboundRequest, Source as SourceT } from 'herald-webhooks/client';
import { useState } from 'preact/hooks';
import { errorMessage, herald } from '../../api/client';
import { useAsync, useInterval } from '../../api/useAsync';
import { CopyButton } from '../../common/CopyButton/CopyButton';
import { JSONViewer } from '../../common/JSONViewer/JSONViewer';
import { PageHeader } from '../../common/Layout/Layout';
import { Empty, ErrorMessage, Loading } from '../../common/Notice/Notice';
import { StatusBadge } from '../../common/StatusBadge/StatusBadge';
import { plural } from '../../utils/format';
import { formatDateTime, fromLocalInput, relativeTime, toLocalInput } from '../../utils/time';

type Status = InboundRequest['status'];

/** One source: where it forwards to, and its request log with each verification outcome; replay. */
export function Source({ id }: { id: string }) {
  const source = useAsync<SourceT>(() => herald.sources.get(id), [id]);
  const [status, setStatus] = useState<Status | ''>('');
  const [pages, setPages] = useState<{ items: InboundRequest[]; iterator: string | null; done: boolean }>({ items: [], iterator: null, done: true });
  const requests = useAsync(async () => {
    const p = await herald.sources.requests(id, { limit: 50, status: status || undefined }).page();
    setPages({ items: p.data, iterator: p.iterator, done: p.done });
    return p;
  }, [id, status]);
  useInterval(() => void requests.reload(true), 3000, pages.items.length <= 50);

  if (source.loading) return <Loading />;
  if (!source.data) return <ErrorMessage error={source.error} onRetry={() => source.reload()} />;
  const s = source.data;
  return (
    <section class="stack-lg">
      <PageHeader title={s.name} back={{ to: '/sources', label: 'Sources' }} />
      <section class="card" aria-label="Source">
        <dl class="kv">
          <dt>Receiving URL</dt>
          <dd class="row wrap"><code class="url">{s.ingestUrl}</code> <CopyButton text={s.ingestUrl} label="Copy URL" /></dd>
          <dt>Verification</dt>
          <dd>{s.verification.scheme}{s.verification.secretCount ? ` (${plural(s.verification.secretCount, 'secret')})` : ''}</dd>
          <dt>Deduplication</dt>
          <dd>{s.dedup ? <code>{s.dedup.key}</code> : 'Off'}</dd>
          <dt>Ordering</dt>
          <dd>{s.ordering ? <code>{s.ordering.key}</code> : 'Off'}</dd>
          <dt>Forwards to</dt>
          <dd>
            {s.destinations.map((d, i) => (
              <div key={i}>
                {destinationLabel(d)}
                {d.filter && <span class="small muted"> only when <code>{JSON.stringify(d.filter)}</code></span>}
              </div>
            ))}
          </dd>
        </dl>
      </section>

      <ReplayWindow id={id} onDone={() => void requests.reload(true)} />

      <section class="card stack" aria-labelledby="req-h">
        <div class="row wrap between">
          <h2 id="req-h">Request log</h2>
          <label class="inline-label">
            <span class="label">Outcome</span>
            <select value={status} onChange={(e) => setStatus(e.currentTarget.value as Status | '')}>
              <option value="">All</option>
              <option value="rejected">Rejected</option>
              <option value="accepted">Accepted</option>
              <option value="duplicate">Duplicate</option>
              <option value="stale">Stale</option>
            </select>
          </label>
        </div>
        {requests.error !== undefined && <ErrorMessage error={requests.error} />}
        {requests.loading && pages.items.length === 0 && <Loading />}
        {!requests.loading && pages.items.length === 0 && <Empty title="No requests yet" />}
        <ul class="log" aria-label="Requests">
          {pages.items.map((r) => <RequestRow key={r.id} source={s} r={r} />)}
        </ul>
        {!pages.done && pages.iterator && (
          <div class="center">
            <button
              type="button"
              class="btn"
              onClick={async () => {
                const p = await herald.sources.requests(id, { limit: 50, status: status || undefined, iterator: pages.iterator! }).page();
                setPages((x) => ({ items: [...x.items, ...p.data.filter((d) => !x.items.some((y) => y.id === d.id))], iterator: p.iterator, done: p.done || p.data.length === 0 }));
              }}
            >
              Load more
            </button>
          </div>
        )}
      </section>
    </section>
  );
}

type Destination = SourceT['destinations'][number];

const destinationLabel = (d: Destination) =>
  d.type === 'http' ? <code class="url">{d.url}</code> : <span>app <code>{d.app}</code> as <code>{d.eventType}</code></span>;

/** A destination's name in a request's routes (the API's RequestOut.routes). */
const routeKey = (d: Destination) => (d.type === 'http' ? d.id : `app:${d.app}:${d.eventType}`);

/** Where a request went, when the source's destinations filter; and on asking, why not elsewhere. */
function Routes({ source, r }: { source: SourceT; r: InboundRequest }) {
  const [why, setWhy] = useState<Array<{ label: ReturnType<typeof destinationLabel>; message: string }> | string | null>(null);
  if (r.status !== 'accepted' || r.routes === null) return null;
  const went = source.destinations.filter((d) => r.routes!.includes(routeKey(d)));
  return (
    <div class="stack">
      <h3>Forwarded to</h3>
      {went.length === 0 ? <p class="small">No destination&apos;s filter matched this request: it was accepted and not forwarded.</p> : (
        <ul class="routes">{went.map((d) => <li key={routeKey(d)}>{destinationLabel(d)}</li>)}</ul>
      )}
      {went.length < source.destinations.length && (
        <div>
          <button
            type="button"
            class="btn btn-small"
            onClick={async () => {
              try {
                const t = await herald.sources.testRouting(source.id, { requestId: r.id });
                setWhy(t.destinations.flatMap((x, i) => (x.matches ? [] : [{ label: destinationLabel(source.destinations[i]), message: x.reasons[0]?.message ?? 'its filter does not match' }])));
              } catch (err) {
                setWhy(errorMessage(err));
              }
            }}
          >
            Why not the others?
          </button>
        </div>
      )}
      {typeof why === 'string' && <p class="error-text">{why}</p>}
      {Array.isArray(why) && (
        <ul class="routes small" aria-label="Destinations not matched">
          {why.map((w, i) => <li key={i}>{w.label}: {w.message}</li>)}
        </ul>
      )}
    </div>
  );
}

function RequestRow({ source: src, r }: { source: SourceT; r: InboundRequest }) {
  const source = src.id;
  const [open, setOpen] = useState(false);
  const [body, setBody] = useState<string | null>(null);
  const [msg, setMsg] = useState('');
  const why = [r.reason, r.detail].filter(Boolean).join(': ');
  return (
    <li class="log-row log-row-req">
      <span class="log-status"><StatusBadge status={r.status} /></span>
      <span class="log-main">
        <button
          type="button"
          class="linklike"
          aria-expanded={open}
          onClick={async () => {
            setOpen(!open);
            if (!open && body === null) {
              try {
                const b = await herald.sources.requestBody(source, r.id);
                setBody(new TextDecoder().decode(b.body));
              } catch (err) {
                setBody(`(body unavailable: ${errorMessage(err)})`);
              }
            }
          }}
        >
          {r.contentType ?? 'request'} · {plural(r.bodySize, 'byte')}
        </button>
        {why && <span class="small muted">{why}</span>}
      </span>
      <span class="log-resp small">
        <StatusBadge status={r.forwarding} />
        {r.deliveries.failed > 0 && <span class="bad-text"> {r.deliveries.failed} failed</span>}
      </span>
      <time class="log-time small muted" dateTime={r.receivedAt} title={formatDateTime(r.receivedAt)}>{relativeTime(r.receivedAt)}</time>
      <span class="log-actions">
        {r.status === 'accepted' && r.forwarding !== 'none' && (
          <button
            type="button"
            class="btn btn-small"
            aria-label={`Replay request ${r.id}`}
            onClick={async () => {
              try {
                const x = await herald.sources.replayRequest(source, r.id);
                setMsg(`Replayed to ${plural(x.replayed, 'destination')}`);
              } catch (err) {
                setMsg(errorMessage(err));
              }
            }}
          >
            Replay
          </button>
        )}
        {msg && <span class="small" role="status">{msg}</span>}
      </span>
      {open && (
        <div class="log-detail stack">
          <h3>Headers</h3>
          <table class="table headers-table">
            <tbody>
              {Object.entries(r.headers).map(([k, v]) => <tr key={k}><td><code>{k}</code></td><td><code>{v}</code></td></tr>)}
            </tbody>
          </table>
          <h3>Body</h3>
          {body === null ? <Loading /> : <JSONViewer value={body} label={`Body of request ${r.id}`} />}
          <Routes source={src} r={r} />
          {r.appError && <p class="error-text">{r.appError}</p>}
          {r.dedupKey && <p class="small muted">Dedup key: <code>{r.dedupKey}</code></p>}
          {r.gap && <p class="small muted">Waiting for sequence {r.gap.from}–{r.gap.to}</p>}
        </div>
      )}
    </li>
  );
}

function ReplayWindow({ id, onDone }: { id: string; onDone: () => void }) {
  const [since, setSince] = useState(() => toLocalInput(Date.now() - 3600_000));
  const [result, setResult] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <section class="card stack" aria-labelledby="replay-h">
      <h2 id="replay-h">Replay failed forwards</h2>
      <form
        class="row wrap"
        onSubmit={async (e) => {
          e.preventDefault();
          const s = fromLocalInput(since);
          if (!s) return setResult('Choose when the window starts.');
          setBusy(true);
          try {
            const r = await herald.sources.replay(id, { since: s });
            setResult(r.replayed === 0 ? 'Nothing to replay in that window.' : `${plural(r.replayed, 'delivery', 'deliveries')} sent again.`);
            onDone();
          } catch (err) {
            setResult(errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          <span class="label">Received since</span>
          <input type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </label>
        <button type="submit" class="btn" disabled={busy}>Replay failed</button>
      </form>
      {result && <p role="status">{result}</p>}
    </section>
  );
}
