import type { Endpoint, FilterTestResult } from 'herald-webhooks/client';
import { useState } from 'preact/hooks';
import { errorMessage, herald } from '../../api/client';
import { MatchResult } from '../../common/FilterEditor/FilterEditor';
import { JSONViewer } from '../../common/JSONViewer/JSONViewer';
import { Link } from '../../router';
import { useScope } from '../../session';

/**
 * An endpoint's filter and channels, read-only, and "why didn't it get this event?": an event
 * of the app checked against the endpoint's event types, channels and filter as fan-out
 * checks them (`POST …/endpoints/{ep}/filter/test {eventId}`, a read: view-only sessions too).
 */
export function FilterPanel({ endpoint }: { endpoint: Endpoint }) {
  const { app, base } = useScope();
  const [eventId, setEventId] = useState('');
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ eventId: string; result: FilterTestResult } | { eventId: string; error: string }>();
  const channels = endpoint.channels ?? [];

  const check = async (e: Event) => {
    e.preventDefault();
    const id = eventId.trim();
    if (!id) {
      setAnswer({ eventId: id, error: 'Enter the id of an event of this app, like evt_…' });
      return;
    }
    setBusy(true);
    try {
      setAnswer({ eventId: id, result: await herald.endpoints.testFilter(app, endpoint.id, { eventId: id }) });
    } catch (err) {
      setAnswer({ eventId: id, error: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card stack" aria-labelledby="filter-h">
      <h2 id="filter-h">Filter, channels and transform</h2>
      <dl class="kv">
        <dt>Channels</dt>
        <dd>{channels.length === 0 ? 'Not limited by channels' : channels.map((c) => <code key={c} class="chip">{c}</code>)}</dd>
        <dt>Filter</dt>
        <dd>{endpoint.filter ? <JSONViewer value={endpoint.filter} label="Filter" /> : 'None: it gets every event of its types'}</dd>
        <dt>Transform</dt>
        <dd>{endpoint.transform ? <JSONViewer value={endpoint.transform} raw label="Transform" /> : 'None: it gets the event as published'}</dd>
      </dl>

      <form class="stack why-form" onSubmit={check} aria-labelledby="why-h">
        <h3 id="why-h">Why didn't it get this event?</h3>
        <p class="muted small">Checks an event of this app against the endpoint's event types, channels and filter, as they are now.</p>
        <div class="row wrap">
          <label class="grow">
            <span class="label">Event id</span>
            <input type="text" value={eventId} placeholder="evt_…" autocomplete="off" spellcheck={false} onInput={(e) => setEventId(e.currentTarget.value)} />
          </label>
          <button type="submit" class="btn" disabled={busy}>{busy ? 'Checking…' : 'Check event'}</button>
        </div>
        <div role="status" aria-live="polite">
          {answer && 'error' in answer && <p class="field-problem">{answer.error}</p>}
          {answer && 'result' in answer && (
            <div class="stack">
              <MatchResult result={answer.result} all />
              {answer.result.matches && (
                <p class="small">
                  With its current settings this endpoint gets <code>{answer.eventId}</code>.{' '}
                  <Link to={`${base}/deliveries?endpointId=${encodeURIComponent(endpoint.id)}&eventId=${encodeURIComponent(answer.eventId)}`}>See its deliveries of this event</Link>
                  {' '}(none if it was published before the endpoint matched it).
                </p>
              )}
            </div>
          )}
        </div>
      </form>
    </section>
  );
}
