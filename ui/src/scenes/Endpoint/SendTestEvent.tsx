import type { DeliveryDetail, Endpoint } from 'herald-webhooks/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorMessage, herald } from '../../api/client';
import { endpointExtras } from '../../api/resources';
import { useInterval } from '../../api/useAsync';
import { Dialog } from '../../common/Dialog/Dialog';
import { useEventTypes, type CatalogueEntry } from '../../common/EventPicker/useEventTypes';
import { StatusBadge } from '../../common/StatusBadge/StatusBadge';
import { Link } from '../../router';
import { useScope } from '../../session';
import { exampleFromSchema, subscribes } from '../../utils/events';
import { duration } from '../../utils/format';

const BUILTIN = 'webhook.test';

/** The data a test of this type starts with: its first example, one made from its schema, or {}. */
export function exampleFor(t: CatalogueEntry | undefined): unknown {
  if (!t) return {};
  if (Array.isArray(t.examples) && t.examples.length > 0) return t.examples[0];
  if (t.schema) return exampleFromSchema(t.schema);
  return {};
}

/** "Send test event": one event to this endpoint only, then its delivery as it happens. */
export function SendTestEvent({ endpoint, onSent }: { endpoint: Endpoint; onSent?: () => void }) {
  const { app, base, can } = useScope();
  const [open, setOpen] = useState(false);
  const types = useEventTypes();
  const choices = useMemo(
    () => (types.data ?? []).filter((t) => !t.archived && subscribes(endpoint.events, t.name)),
    [types.data, endpoint.events],
  );
  const [type, setType] = useState(BUILTIN);
  const [json, setJson] = useState('{}');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<{ deliveryId: string } | null>(null);
  const [delivery, setDelivery] = useState<DeliveryDetail | null>(null);

  useEffect(() => {
    if (type === BUILTIN) setJson('{}');
    else setJson(JSON.stringify(exampleFor(choices.find((c) => c.name === type)), null, 2));
  }, [type, choices]);

  const watching = !!sent && (!delivery || delivery.status === 'pending');
  useInterval(async () => {
    if (!sent) return;
    try {
      setDelivery(await herald.deliveries.get(app, sent.deliveryId));
    } catch {
      /* next tick */
    }
  }, 1000, watching);

  if (!can('send')) return null;
  if (endpoint.status !== 'active') {
    return <button type="button" class="btn" disabled title="Enable the endpoint to send a test event">Send test event</button>;
  }

  const send = async () => {
    setError('');
    let data: Record<string, unknown> | undefined;
    if (type !== BUILTIN) {
      try {
        const parsed = JSON.parse(json);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        data = parsed;
      } catch {
        setError('The data must be a JSON object, like {"id": 1}.');
        return;
      }
    }
    setBusy(true);
    try {
      const r = await endpointExtras.sendTest(app, endpoint.id, type === BUILTIN ? undefined : { eventType: type, data });
      setSent(r);
      setDelivery(null);
      onSent?.();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const last = delivery?.attempts[delivery.attempts.length - 1];

  return (
    <>
      <button type="button" class="btn" onClick={() => { setOpen(true); setSent(null); setDelivery(null); }}>
        Send test event
      </button>
      <Dialog title="Send test event" open={open} onClose={() => setOpen(false)}>
        <div class="stack">
          <label>
            <span class="label">Event type</span>
            <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
              <option value={BUILTIN}>{BUILTIN} (a test event)</option>
              {choices.map((c) => (
                <option key={c.name} value={c.name}>{c.name}</option>
              ))}
            </select>
          </label>
          {type !== BUILTIN && (
            <label>
              <span class="label">Data (JSON)</span>
              <textarea class="code-input" rows={10} spellcheck={false} value={json} onInput={(e) => setJson(e.currentTarget.value)} />
            </label>
          )}
          {error && <p class="error-text" role="alert">{error}</p>}
          {sent && (
            <div class="test-result" role="status" aria-live="polite">
              {!delivery || delivery.status === 'pending' ? (
                <p><StatusBadge status="pending" /> Sending…</p>
              ) : (
                <p>
                  <StatusBadge status={delivery.status} />{' '}
                  {last?.statusCode ? `HTTP ${last.statusCode}` : last?.error ?? ''}
                  {last ? ` in ${duration(last.durationMs)}` : ''}
                </p>
              )}
              <Link to={`${base}/deliveries/${encodeURIComponent(sent.deliveryId)}`} onClick={() => setOpen(false)}>View delivery</Link>
            </div>
          )}
          <div class="actions">
            <button type="button" class="btn" onClick={() => setOpen(false)}>Close</button>
            <button type="button" class="btn btn-primary" disabled={busy} onClick={send}>
              {busy ? 'Sending…' : 'Send'}
            </button>
          </div>
        </div>
      </Dialog>
    </>
  );
}
