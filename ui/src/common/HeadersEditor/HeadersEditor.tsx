export interface HeaderRow {
  name: string;
  value: string;
}

/** Custom headers sent with every delivery, as name/value rows. */
export function HeadersEditor({ rows, onChange }: { rows: HeaderRow[]; onChange: (rows: HeaderRow[]) => void }) {
  const update = (i: number, patch: Partial<HeaderRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset class="headers-editor">
      <legend>Custom headers</legend>
      {rows.length === 0 && <p class="muted">None. Herald's own headers (signature, id, timestamp) are always sent.</p>}
      {rows.map((r, i) => (
        <div class="row" key={i}>
          <label class="grow">
            <span class="label">Header name {i + 1}</span>
            <input type="text" value={r.name} placeholder="x-api-key" autocomplete="off" onInput={(e) => update(i, { name: e.currentTarget.value })} />
          </label>
          <label class="grow">
            <span class="label">Value {i + 1}</span>
            <input type="text" value={r.value} autocomplete="off" onInput={(e) => update(i, { value: e.currentTarget.value })} />
          </label>
          <button type="button" class="btn btn-ghost" aria-label={`Remove header ${r.name || i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="btn btn-small" onClick={() => onChange([...rows, { name: '', value: '' }])}>Add header</button>
    </fieldset>
  );
}

export function headersFromRows(rows: HeaderRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows) if (r.name.trim()) out[r.name.trim()] = r.value;
  return out;
}

export function rowsFromHeaders(h: Record<string, string> | undefined): HeaderRow[] {
  return Object.entries(h ?? {}).map(([name, value]) => ({ name, value }));
}
