import { useState } from 'preact/hooks';
import { errorMessage, herald } from '../../api/client';
import { useScope } from '../../session';
import { plural } from '../../utils/format';
import { fromLocalInput, toLocalInput } from '../../utils/time';

/** Re-send every failed delivery of the endpoint created in a time window (after an outage, say). */
export function Recover({ ep, onRecovered }: { ep: string; onRecovered?: () => void }) {
  const { app, can } = useScope();
  const [since, setSince] = useState(() => toLocalInput(Date.now() - 24 * 3600_000));
  const [until, setUntil] = useState('');
  const [result, setResult] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  if (!can('send')) return null;
  return (
    <section class="card stack" aria-labelledby="recover-h">
      <h2 id="recover-h">Recover failed deliveries</h2>
      <p class="muted">Sends again every failed delivery to this endpoint from the window below.</p>
      <form
        class="row wrap"
        onSubmit={async (e) => {
          e.preventDefault();
          setError('');
          setResult('');
          const s = fromLocalInput(since);
          if (!s) return setError('Choose when the window starts.');
          const u = until ? fromLocalInput(until) : null;
          setBusy(true);
          try {
            const r = await herald.endpoints.recover(app, ep, u ? { since: s, until: u } : { since: s });
            setResult(r.requeued === 0 ? 'No failed deliveries in that window.' : `${plural(r.requeued, 'delivery', 'deliveries')} sent again.`);
            onRecovered?.();
          } catch (err) {
            setError(errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          <span class="label">From</span>
          <input type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} required />
        </label>
        <label>
          <span class="label">Until <span class="muted">(empty: now)</span></span>
          <input type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </label>
        <button type="submit" class="btn" disabled={busy}>Recover failed deliveries</button>
      </form>
      {result && <p class="notice notice-success" role="status">{result}</p>}
      {error && <p class="error-text" role="alert">{error}</p>}
    </section>
  );
}
