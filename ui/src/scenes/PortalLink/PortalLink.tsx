import type { Capability, PortalAccess } from 'herald-webhooks/client';
import { useState } from 'preact/hooks';
import { herald } from '../../api/client';
import { CopyButton } from '../../common/CopyButton/CopyButton';
import { Dialog } from '../../common/Dialog/Dialog';
import { ErrorMessage } from '../../common/Notice/Notice';
import { useScope } from '../../session';
import { formatDateTime } from '../../utils/time';

const CAPS: Array<[Capability, string]> = [
  ['manage_endpoints', 'Add, edit and delete endpoints'],
  ['reveal_secrets', 'Reveal signing secrets'],
  ['rotate_secrets', 'Rotate signing secrets'],
  ['send', 'Send test events, retry and recover'],
];

/** Console: a one-time customer-portal link for this app, as the product's backend would make (to check what a customer sees). */
export function PortalLink() {
  const { app } = useScope();
  const [open, setOpen] = useState(false);
  const [caps, setCaps] = useState<Capability[]>(CAPS.map(([c]) => c));
  const [link, setLink] = useState<PortalAccess | null>(null);
  const [error, setError] = useState<unknown>();
  return (
    <>
      <button type="button" class="btn" onClick={() => { setOpen(true); setLink(null); }}>Customer portal link</button>
      <Dialog title="Customer portal link" open={open} onClose={() => setOpen(false)}>
        <div class="stack">
          <p class="muted">A link into this app's portal, good for one sign-in within an hour. Your product's backend makes these with <code>POST /v1/apps/{'{app}'}/portal-access</code>.</p>
          <fieldset>
            <legend>The customer may</legend>
            <label class="check"><input type="checkbox" checked disabled /> See endpoints and deliveries</label>
            {CAPS.map(([c, label]) => (
              <label class="check" key={c}>
                <input type="checkbox" checked={caps.includes(c)} onChange={(e) => setCaps(e.currentTarget.checked ? [...caps, c] : caps.filter((x) => x !== c))} />
                {label}
              </label>
            ))}
          </fieldset>
          {error !== undefined && <ErrorMessage error={error} />}
          {link && (
            <div class="stack">
              <code class="secret" aria-label="Portal link">{link.url}</code>
              <div class="row wrap">
                <CopyButton text={link.url} label="Copy link" />
                <a class="btn btn-small" href={link.url} target="_blank" rel="noopener noreferrer">Open in a new tab</a>
                <span class="muted small">expires {formatDateTime(link.expiresAt)}</span>
              </div>
            </div>
          )}
          <div class="actions">
            <button type="button" class="btn" onClick={() => setOpen(false)}>Close</button>
            <button
              type="button"
              class="btn btn-primary"
              onClick={async () => {
                setError(undefined);
                try {
                  setLink(await herald.portal.createAccess(app, { capabilities: ['view', ...caps] }));
                } catch (err) {
                  setError(err);
                }
              }}
            >
              Create link
            </button>
          </div>
        </div>
      </Dialog>
    </>
  );
}
