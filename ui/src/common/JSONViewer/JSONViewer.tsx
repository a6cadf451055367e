import { prettyJson } from '../../utils/format';

/**
 * JSON (or any text: a response body) shown as text, never as markup: what a receiver or an
 * event put there is displayed character for character.
 */
export function JSONViewer({ value, label, raw = false }: { value: unknown; label: string; raw?: boolean }) {
  const text = raw && typeof value === 'string' ? value : prettyJson(value);
  return (
    <pre class="code" tabIndex={0} aria-label={label}>
      <code>{text}</code>
    </pre>
  );
}
