import type { Source } from 'herald-webhooks/client';
import { herald } from '../../api/client';
import { useAsync } from '../../api/useAsync';
import { PageHeader } from '../../common/Layout/Layout';
import { Empty, ErrorMessage, Loading } from '../../common/Notice/Notice';
import { Link } from '../../router';

/** Sources: the inbound gateway's receiving URLs (GitHub, Stripe, … send to them). */
export function Sources() {
  const list = useAsync<Source[]>(() => herald.sources.list({ limit: 100 }).toArray(2000), []);
  return (
    <section>
      <PageHeader title="Sources" />
      {list.loading && <Loading />}
      {list.error !== undefined && <ErrorMessage error={list.error} onRetry={() => list.reload()} />}
      {list.data?.length === 0 && (
        <Empty title="No sources yet">
          <p class="muted">A source is a URL providers send webhooks to; Herald verifies, records and forwards them. Create one with <code>POST /v1/sources</code> or <code>herald sources create</code>.</p>
        </Empty>
      )}
      {list.data && list.data.length > 0 && (
        <ul class="list" aria-label="Sources">
          {list.data.map((s) => (
            <li key={s.id} class="list-row">
              <Link class="list-title" to={`/sources/${encodeURIComponent(s.id)}`}>{s.name}</Link>
              <span class="muted small">verification: {s.verification.scheme}{s.dedup ? ' · dedup' : ''}{s.ordering ? ' · ordered' : ''}</span>
              <span class="muted small url"><code>{s.ingestUrl}</code></span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
