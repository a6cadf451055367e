import { useState } from 'preact/hooks';
import { useEventTypes } from '../../common/EventPicker/useEventTypes';
import { JSONViewer } from '../../common/JSONViewer/JSONViewer';
import { PageHeader } from '../../common/Layout/Layout';
import { Empty, ErrorMessage, Loading } from '../../common/Notice/Notice';
import { exampleFor } from '../Endpoint/SendTestEvent';

/** Event catalogue: the event types an endpoint can subscribe to, with their schema and an example. */
export function EventCatalogue() {
  const types = useEventTypes();
  const [filter, setFilter] = useState('');
  const shown = (types.data ?? []).filter((t) => !t.archived && t.name.toLowerCase().includes(filter.trim().toLowerCase()));
  return (
    <section>
      <PageHeader title="Event catalogue" />
      <label class="search">
        <span class="label">Find an event type</span>
        <input type="search" value={filter} placeholder="person." onInput={(e) => setFilter(e.currentTarget.value)} />
      </label>
      {types.loading && <Loading />}
      {types.error !== undefined && <ErrorMessage error={types.error} onRetry={() => types.reload()} />}
      {types.data?.length === 0 && <Empty title="No event types yet"><p class="muted">Event types appear here once they are declared.</p></Empty>}
      <div class="stack">
        {shown.map((t) => (
          <article class="card stack" key={t.name} aria-labelledby={`et-${t.name}`}>
            <h2 id={`et-${t.name}`}><code>{t.name}</code></h2>
            <p class={t.description ? undefined : 'muted'}>{t.description ?? 'No description.'}</p>
            <details>
              <summary>Example</summary>
              <JSONViewer value={exampleFor(t)} label={`Example of ${t.name}`} />
            </details>
            {t.schema && (
              <details>
                <summary>Schema</summary>
                <JSONViewer value={t.schema} label={`Schema of ${t.name}`} />
              </details>
            )}
          </article>
        ))}
      </div>
    </section>
  );
}
