import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { Dialog } from '../Dialog/Dialog';
import { ErrorMessage } from '../Notice/Notice';

/** "Are you sure?" with the action's own words on the button; shows the action's error if it fails. */
export function ConfirmDialog(props: {
  title: string;
  open: boolean;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const close = () => {
    setError(undefined);
    props.onClose();
  };
  return (
    <Dialog title={props.title} open={props.open} onClose={close}>
      <div class="stack">
        {props.children}
        {error !== undefined && <ErrorMessage error={error} />}
        <div class="actions">
          <button type="button" class="btn" onClick={close}>Cancel</button>
          <button
            type="button"
            class={props.danger ? 'btn btn-danger' : 'btn btn-primary'}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(undefined);
              try {
                await props.onConfirm();
                props.onClose();
              } catch (err) {
                setError(err);
              } finally {
                setBusy(false);
              }
            }}
          >
            {props.confirmLabel}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
