/** 0.992 → "99.2 %"; null (nothing finished yet) → "—". */
export function percent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return '—';
  const p = fraction * 100;
  const text = p === 100 || p === 0 ? p.toFixed(0) : p >= 99.95 ? '99.9' : p.toFixed(1);
  return `${text} %`;
}

/** 145 → "145 ms", 2300 → "2.3 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** 86400 → "24 h", 90 → "90 s". */
export function seconds(s: number): string {
  if (s % 86_400 === 0 && s >= 86_400) return `${s / 86_400} d`;
  if (s % 3600 === 0 && s >= 3600) return `${s / 3600} h`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} min`;
  return `${s} s`;
}

/** Pretty JSON of any value; a string that holds JSON is pretty-printed too. Always text. */
export function prettyJson(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A long id shortened for a table cell: "dlv_01HZX…K3QF". */
export function shortId(id: string, keep = 4): string {
  const under = id.indexOf('_');
  const prefix = under > 0 ? id.slice(0, under + 1) : '';
  const rest = id.slice(prefix.length);
  return rest.length <= keep * 2 + 1 ? id : `${prefix}${rest.slice(0, keep)}…${rest.slice(-keep)}`;
}

/** "1 delivery", "3 deliveries" */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
