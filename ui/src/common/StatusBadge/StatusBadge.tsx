const LABELS: Record<string, [string, string]> = {
  success: ['Succeeded', 'ok'],
  succeeded: ['Succeeded', 'ok'],
  failed: ['Failed', 'bad'],
  pending: ['Pending', 'wait'],
  active: ['Active', 'ok'],
  disabled: ['Disabled', 'off'],
  closed: ['Healthy', 'ok'],
  open: ['Circuit open', 'bad'],
  half_open: ['Probing', 'wait'],
  recovering: ['Recovering', 'wait'],
  accepted: ['Accepted', 'ok'],
  rejected: ['Rejected', 'bad'],
  duplicate: ['Duplicate', 'off'],
  stale: ['Stale', 'wait'],
  delivered: ['Delivered', 'ok'],
  waiting: ['Waiting', 'wait'],
  none: ['Not forwarded', 'off'],
};

/** A status as a coloured word (never colour alone). */
export function StatusBadge({ status, label }: { status: string; label?: string }) {
  const [text, tone] = LABELS[status] ?? [status, 'off'];
  return <span class={`badge badge-${tone}`}>{label ?? text}</span>;
}
