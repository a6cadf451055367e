import { useState } from 'preact/hooks';
import { errorMessage, herald } from '../../api/client';
import { ConfirmDialog } from '../../common/ConfirmDialog/ConfirmDialog';
import { CopyButton } from '../../common/CopyButton/CopyButton';
import { useScope } from '../../session';

const GRACE = [
  [0, 'Revoke the old secret now'],
  [3600, '1 hour'],
  [86_400, '24 hours'],
  [7 * 86_400, '7 days'],
] as const;

/** The signing secret: hidden until "Reveal secret"; "Rotate secret" with a grace period for the old one. */
export function SecretPanel({ ep, initial }: { ep: string; initial?: string }) {
  const { app, can } = useScope();
  const [secret, setSecret] = useState<string | undefined>(initial);
  const [error, setError] = useState('');
  const [rotating, setRotating] = useState(false);
  const [grace, setGrace] = useState(86_400);
  const [rotated, setRotated] = useState('');
  const mayReveal = can('reveal_secrets');
  const mayRotate = can('rotate_secrets');

  return (
    <section class="card stack" aria-labelledby="secret-h">
      <h2 id="secret-h">Signing secret</h2>
      <p class="muted">Verify each delivery's <code>webhook-signature</code> header with this secret (Standard Webhooks).</p>
      <div class="secret-row">
        <code class="secret" aria-label="Signing secret value">{secret ?? '••••••••••••••••••••••••'}</code>
        {secret ? (
          <>
            <CopyButton text={secret} label="Copy secret" />
            <button type="button" class="btn btn-small" onClick={() => setSecret(undefined)}>Hide</button>
          </>
        ) : (
          mayReveal && (
            <button
              type="button"
              class="btn btn-small"
              onClick={async () => {
                setError('');
                try {
                  setSecret((await herald.endpoints.secret(app, ep)).secret);
                } catch (err) {
                  setError(errorMessage(err));
                }
              }}
            >
              Reveal secret
            </button>
          )
        )}
        {mayRotate && (
          <button type="button" class="btn btn-small" onClick={() => setRotating(true)}>
            Rotate secret
          </button>
        )}
      </div>
      {rotated && <p class="notice notice-success" role="status">{rotated}</p>}
      {error && <p class="error-text" role="alert">{error}</p>}
      <ConfirmDialog
        title="Rotate secret"
        open={rotating}
        confirmLabel="Rotate secret"
        onClose={() => setRotating(false)}
        onConfirm={async () => {
          const r = await herald.endpoints.rotateSecret(app, ep, { graceSeconds: grace });
          setSecret(mayReveal ? r.secret : undefined);
          const label = GRACE.find(([s]) => s === grace)?.[1] ?? `${grace} s`;
          setRotated(grace === 0 ? 'Secret rotated; the old one no longer signs.' : `Secret rotated. The old secret keeps signing for ${label}, so you can update your receiver meanwhile.`);
        }}
      >
        <p>A new secret signs every delivery from now on. During the grace period each delivery carries both signatures.</p>
        <label>
          <span class="label">Grace period for the old secret</span>
          <select value={String(grace)} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
            {GRACE.map(([s, label]) => (
              <option key={s} value={String(s)}>{label}</option>
            ))}
          </select>
        </label>
      </ConfirmDialog>
    </section>
  );
}
