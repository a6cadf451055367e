import { useState } from 'preact/hooks';
import { groupEventTypes, normalizeSubscriptions, SUBSCRIPTION } from '../../utils/events';
import { ErrorMessage, Loading } from '../Notice/Notice';
import { useEventTypes } from './useEventTypes';

/**
 * Which events an endpoint gets: every event, or types from the catalogue, grouped by their
 * first part with a wildcard per group (`person.*`: every person event, present and future),
 * plus any pattern typed in.
 */
export function EventPicker({ value, onChange }: { value: string[]; onChange: (v: string[]) => void }) {
  const types = useEventTypes();
  const [custom, setCustom] = useState('');
  const [customError, setCustomError] = useState('');
  const all = value.includes('*');
  const set = new Set(value);
  const toggle = (name: string, on: boolean) => {
    const next = new Set(all ? [] : value);
    if (on) next.add(name);
    else next.delete(name);
    onChange(normalizeSubscriptions([...next]));
  };
  const addCustom = () => {
    const v = custom.trim();
    if (!SUBSCRIPTION.test(v)) {
      setCustomError('Use a type like invoice.paid, a prefix like invoice.*, or *');
      return;
    }
    setCustomError('');
    setCustom('');
    toggle(v, true);
  };
  const known = new Set((types.data ?? []).map((t) => t.name));
  const groups = groupEventTypes([...known]);
  const extra = value.filter((v) => v !== '*' && !known.has(v) && !groups.some((g) => g.wildcard === v));

  return (
    <fieldset class="picker">
      <legend>Events</legend>
      <label class="check">
        <input type="checkbox" checked={all} onChange={(e) => onChange(e.currentTarget.checked ? ['*'] : [])} />
        <span>Every event type <span class="muted">(including types added later)</span></span>
      </label>
      {types.loading && <Loading label="Loading event types…" />}
      {types.error !== undefined && <ErrorMessage error={types.error} onRetry={() => types.reload()} />}
      {!all && (
        <div class="picker-groups">
          {groups.map((g) => {
            const whole = set.has(g.wildcard);
            return (
              <div class="picker-group" key={g.prefix}>
                <label class="check check-strong">
                  <input type="checkbox" checked={whole} onChange={(e) => toggle(g.wildcard, e.currentTarget.checked)} />
                  <code>{g.wildcard}</code>
                  <span class="muted">all {g.prefix} events</span>
                </label>
                <div class="picker-types">
                  {g.types.map((t) => (
                    <label class="check" key={t}>
                      <input type="checkbox" checked={whole || set.has(t)} disabled={whole} onChange={(e) => toggle(t, e.currentTarget.checked)} />
                      <code>{t}</code>
                    </label>
                  ))}
                </div>
              </div>
            );
          })}
          {extra.map((p) => (
            <label class="check" key={p}>
              <input type="checkbox" checked onChange={() => toggle(p, false)} />
              <code>{p}</code>
              <span class="muted">pattern</span>
            </label>
          ))}
          <div class="row">
            <label class="grow">
              <span class="label">Add a type or pattern</span>
              <input
                type="text"
                value={custom}
                placeholder="invoice.paid or invoice.*"
                onInput={(e) => setCustom(e.currentTarget.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    addCustom();
                  }
                }}
              />
            </label>
            <button
              type="button"
              class="btn"
              onClick={addCustom}
            >
              Add
            </button>
          </div>
          {customError && <p class="error-text" role="alert">{customError}</p>}
          {value.length === 0 && <p class="muted">Pick at least one event type, or choose every event type.</p>}
        </div>
      )}
    </fieldset>
  );
}
