import type { App } from 'herald-webhooks/client';
import { useState } from 'preact/hooks';
import { herald } from '../../api/client';
import { Dialog } from '../../common/Dialog/Dialog';
import { ErrorMessage } from '../../common/Notice/Notice';
import { useScope } from '../../session';

type Profile = NonNullable<App['envelopeProfile']>;

interface Draft {
  id: string;
  type: string;
  timestamp: string;
  timestampFormat: 'iso' | 'unix';
  sequence: boolean;
  extra: string;
}

const draftOf = (p: Profile | null): Draft => ({
  id: p?.fields.id ?? 'id', type: p?.fields.type ?? 'type', timestamp: p?.fields.timestamp ?? 'timestamp',
  timestampFormat: p?.timestampFormat ?? 'iso', sequence: p?.sequence ?? true, extra: (p?.extra ?? []).join(', '),
});

/** What receivers would get, with these settings, for a small example event. */
function preview(d: Draft): string {
  const body: Record<string, unknown> = {
    [d.id || 'id']: 'evt_2Yk…', [d.type || 'type']: 'person.created',
    [d.timestamp || 'timestamp']: d.timestampFormat === 'unix' ? 1767225600 : '2026-01-01T00:00:00.000Z',
  };
  for (const name of d.extra.split(/[\s,]+/).filter(Boolean)) body[name] = '…';
  if (d.sequence) body.sequence = 42;
  body.data = { id: 'per_1' };
  return JSON.stringify(body, null, 2);
}

/**
 * Console: the app's envelope profile (docs/payloads.md): the names of the id, type and
 * timestamp fields receivers read, the timestamp format, whether `sequence` is sent, and the
 * top-level fields publishers may add. Saved with PATCH /v1/apps/{app}; the server validates.
 */
export function EnvelopeSettings() {
  const { app } = useScope();
  const [open, setOpen] = useState(false);
  const [d, setD] = useState<Draft>(draftOf(null));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => {
    setD((x) => ({ ...x, ...patch }));
    setSaved('');
  };
  const start = async () => {
    setError(undefined);
    setSaved('');
    try {
      setD(draftOf((await herald.apps.get(app)).envelopeProfile ?? null));
      setOpen(true);
    } catch (err) {
      setError(err);
      setOpen(true);
    }
  };
  const save = async (profile: Profile | null) => {
    setBusy(true);
    setError(undefined);
    try {
      const updated = await herald.apps.update(app, { envelopeProfile: profile });
      setD(draftOf(updated.envelopeProfile ?? null));
      setSaved(profile ? 'Saved: events published from now on have this shape.' : "Back to Herald's envelope for events published from now on.");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const text = (label: string, key: 'id' | 'type' | 'timestamp') => (
    <label>
      <span class="label">{label}</span>
      <input type="text" value={d[key]} spellcheck={false} autocomplete="off" onInput={(e) => set({ [key]: e.currentTarget.value } as Partial<Draft>)} />
    </label>
  );
  return (
    <>
      <button type="button" class="btn" onClick={() => void start()}>Payload shape</button>
      <Dialog title="Payload shape" open={open} onClose={() => setOpen(false)}>
        <div class="stack">
          <p class="muted small">The JSON body every endpoint of this app receives. Change it to match what your product documents (Twenty's <code>event</code>, another's <code>created_at</code> in unix seconds, …).</p>
          <div class="grid-3">
            {text('Id field', 'id')}
            {text('Type field', 'type')}
            {text('Timestamp field', 'timestamp')}
          </div>
          <div class="row wrap">
            <label>
              <span class="label">Timestamp format</span>
              <select value={d.timestampFormat} onChange={(e) => set({ timestampFormat: e.currentTarget.value as 'iso' | 'unix' })}>
                <option value="iso">ISO 8601 (2026-01-01T00:00:00.000Z)</option>
                <option value="unix">Unix seconds (1767225600)</option>
              </select>
            </label>
            <label class="check"><input type="checkbox" checked={d.sequence} onChange={(e) => set({ sequence: e.currentTarget.checked })} /> Include <code>sequence</code></label>
          </div>
          <label>
            <span class="label">Extra top-level fields <span class="muted">(publishers give them as <code>fields</code>, e.g. workspaceId)</span></span>
            <input type="text" value={d.extra} spellcheck={false} autocomplete="off" placeholder="workspaceId" onInput={(e) => set({ extra: e.currentTarget.value })} />
          </label>
          <div>
            <span class="label">Receivers get</span>
            <pre class="code" aria-label="Example body">{preview(d)}</pre>
          </div>
          {error !== undefined && <ErrorMessage error={error} />}
          {saved && <p role="status">{saved}</p>}
          <div class="actions">
            <button type="button" class="btn" onClick={() => setOpen(false)}>Close</button>
            <button type="button" class="btn" disabled={busy} onClick={() => void save(null)}>Use Herald's envelope</button>
            <button
              type="button"
              class="btn btn-primary"
              disabled={busy}
              onClick={() => void save({
                fields: { id: d.id.trim(), type: d.type.trim(), timestamp: d.timestamp.trim() },
                timestampFormat: d.timestampFormat, sequence: d.sequence, extra: d.extra.split(/[\s,]+/).filter(Boolean),
              })}
            >
              Save shape
            </button>
          </div>
        </div>
      </Dialog>
    </>
  );
}
