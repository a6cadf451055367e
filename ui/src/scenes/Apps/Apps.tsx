import type { App } from 'herald-webhooks/client';
import { useState } from 'preact/hooks';
import { herald } from '../../api/client';
import { useAsync } from '../../api/useAsync';
import { Dialog } from '../../common/Dialog/Dialog';
import { PageHeader } from '../../common/Layout/Layout';
import { Empty, ErrorMessage, Loading } from '../../common/Notice/Notice';
import { Link, navigate } from '../../router';
import { formatDateTime } from '../../utils/time';

/** Apps: one per customer of the product. Pick one to see its endpoints and deliveries. */
export function Apps() {
  const apps = useAsync<App[]>(() => herald.apps.list({ limit: 100 }).toArray(2000), []);
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <PageHeader title="Apps">
        <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>Create app</button>
      </PageHeader>
      {apps.loading && <Loading />}
      {apps.error !== undefined && <ErrorMessage error={apps.error} onRetry={() => apps.reload()} />}
      {apps.data?.length === 0 && <Empty title="No apps yet"><p class="muted">Create one app per customer of your product.</p></Empty>}
      {apps.data && apps.data.length > 0 && (
        <ul class="list" aria-label="Apps">
          {apps.data.map((a) => (
            <li key={a.id} class="list-row">
              <Link class="list-title" to={`/apps/${encodeURIComponent(a.uid ?? a.id)}/endpoints`}>{a.name}</Link>
              <span class="muted small"><code>{a.uid ?? a.id}</code></span>
              <span class="muted small">created {formatDateTime(a.createdAt)}</span>
            </li>
          ))}
        </ul>
      )}
      <CreateApp open={creating} onClose={() => setCreating(false)} />
    </section>
  );
}

function CreateApp({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [name, setName] = useState('');
  const [uid, setUid] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title="Create app" open={open} onClose={onClose}>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            const a = await herald.apps.create({ name: name.trim(), uid: uid.trim() || null });
            onClose();
            navigate(`/apps/${encodeURIComponent(a.uid ?? a.id)}/endpoints`);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          <span class="label">Name</span>
          <input type="text" required value={name} placeholder="Acme Inc" onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          <span class="label">Your id for it <span class="muted">(optional, e.g. your customer id)</span></span>
          <input type="text" value={uid} placeholder="acme" onInput={(e) => setUid(e.currentTarget.value)} />
        </label>
        {error !== undefined && <ErrorMessage error={error} />}
        <div class="actions">
          <button type="button" class="btn" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn btn-primary" disabled={busy || !name.trim()}>Create app</button>
        </div>
      </form>
    </Dialog>
  );
}
