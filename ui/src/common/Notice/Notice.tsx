import type { ComponentChildren } from 'preact';
import { errorMessage } from '../../api/client';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return <p class="muted loading" role="status">{label}</p>;
}

export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div class="notice notice-error" role="alert">
      <span>{errorMessage(error)}</span>
      {onRetry && <button type="button" class="btn btn-small" onClick={onRetry}>Try again</button>}
    </div>
  );
}

export function Success({ children }: { children: ComponentChildren }) {
  return <div class="notice notice-success" role="status">{children}</div>;
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}
