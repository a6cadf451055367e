import { useState } from 'preact/hooks';
import { errorMessage, herald } from '../../api/client';
import { useScope } from '../../session';

/** "Retry": one more attempt of a delivery, now. */
export function RetryDeliveryButton({ deliveryId, onRetried, small }: { deliveryId: string; onRetried?: () => void; small?: boolean }) {
  const { app, can } = useScope();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  if (!can('send')) return null;
  return (
    <span class="inline">
      <button
        type="button"
        class={small ? 'btn btn-small' : 'btn'}
        disabled={busy}
        aria-label={small ? `Retry delivery ${deliveryId}` : undefined}
        onClick={async (e) => {
          e.stopPropagation();
          setBusy(true);
          setError('');
          try {
            await herald.deliveries.retry(app, deliveryId);
            onRetried?.();
          } catch (err) {
            setError(errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? 'Retrying…' : 'Retry'}
      </button>
      {error && <span class="error-text" role="alert">{error}</span>}
    </span>
  );
}
