import { useState } from 'preact/hooks';
import { addChannels, channelProblem, MAX_CHANNELS, splitChannels, withoutPath, type FieldProblem } from '../../utils/filters';

/**
 * An endpoint's channels as chips: type a name and press Enter or a comma (or paste several,
 * comma-separated); × or Backspace removes one. `pending` is the text not yet made a chip,
 * which the form counts too when saving.
 */
export function ChannelsInput({ value, pending, onChange, saved }: {
  value: string[];
  pending: string;
  onChange: (channels: string[], pending: string) => void;
  saved?: FieldProblem;
}) {
  const [problem, setProblem] = useState('');
  const commit = (raw: string, rest: string) => {
    const added = splitChannels(raw);
    if (added.length === 0) return onChange(value, rest);
    const next = addChannels(value, added);
    const p = channelProblem(next);
    setProblem(p ?? '');
    if (p) onChange(value, raw + rest);
    else onChange(next, rest);
  };
  const shown = problem || (saved ? `${saved.path ? `${saved.path}: ` : ''}${withoutPath(saved.message, saved.path)}` : '');
  return (
    <div class="field">
      <label class="label" for="f-channels">Channels <span class="muted">(optional, at most {MAX_CHANNELS})</span></label>
      <div class={shown ? 'chip-input chip-input-bad' : 'chip-input'}>
        {value.length > 0 && (
          <ul class="chips" aria-label="Channels">
            {value.map((c) => (
              <li key={c} class="chip chip-removable">
                <code>{c}</code>
                <button type="button" class="chip-remove" aria-label={`Remove channel ${c}`} onClick={() => { setProblem(''); onChange(value.filter((x) => x !== c), pending); }}>×</button>
              </li>
            ))}
          </ul>
        )}
        <input
          id="f-channels"
          type="text"
          value={pending}
          placeholder={value.length ? 'Add another' : 'team_42, eu-west'}
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          aria-invalid={!!shown}
          aria-describedby="f-channels-hint"
          onInput={(e) => {
            const v = e.currentTarget.value;
            setProblem('');
            // A comma or a space ends a name; what follows the last one is still being typed.
            const cut = Math.max(v.lastIndexOf(','), v.search(/\s\S*$/));
            if (cut >= 0) commit(v.slice(0, cut), v.slice(cut + 1).trim());
            else onChange(value, v);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              commit(pending, '');
            } else if (e.key === 'Backspace' && pending === '' && value.length > 0) {
              onChange(value.slice(0, -1), '');
            }
          }}
          onBlur={() => pending.trim() && commit(pending, '')}
        />
      </div>
      {shown ? (
        <p class="field-problem" id="f-channels-hint" role="alert">{shown}</p>
      ) : (
        <p class="muted small" id="f-channels-hint">
          Only events published to at least one of these channels are delivered. None: not limited by channels.
        </p>
      )}
    </div>
  );
}
