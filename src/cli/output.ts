import type { PageList } from '../sdk/client/index.js';
import type { OutputMode } from './context.js';

/** Cells: strings as they are, null as '-', objects as compact JSON, trimmed to `max` characters. */
function cell(v: unknown, max = 60): string {
  const s = v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
  const flat = s.replace(/[\r\n\t]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A plain aligned table: a header row, then one row per item. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

/** One object: JSON, or for people `key  value` lines. */
export function printOne(mode: OutputMode, value: unknown): void {
  if (mode === 'json' || value === null || typeof value !== 'object') {
    process.stdout.write(`${JSON.stringify(value, null, mode === 'json' ? undefined : 2)}\n`);
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const width = Math.max(...entries.map(([k]) => k.length));
  for (const [k, v] of entries) process.stdout.write(`${k.padEnd(width)}  ${cell(v, 200)}\n`);
}

/**
 * A list: one JSON object per line for scripts (every page, or `limit` items), or a table for
 * people with a hint how to get the next page.
 */
export async function printList<T extends object>(
  mode: OutputMode, list: PageList<T>, columns: string[], all: boolean, row: (item: T) => object = (item) => item,
): Promise<void> {
  const cells = (items: T[]) => items.map(row) as Array<Record<string, unknown>>;
  if (all) {
    const rows: T[] = [];
    for await (const item of list) {
      if (mode === 'json') process.stdout.write(`${JSON.stringify(item)}\n`);
      else rows.push(item);
    }
    if (mode === 'table') process.stdout.write(rows.length ? table(cells(rows), columns) : '(none)\n');
    return;
  }
  const page = await list.page();
  if (mode === 'json') {
    for (const item of page.data) process.stdout.write(`${JSON.stringify(item)}\n`);
    return;
  }
  process.stdout.write(page.data.length ? table(cells(page.data), columns) : '(none)\n');
  if (!page.done && page.iterator) process.stderr.write(`more: --iterator ${page.iterator} (or --all)\n`);
}

/** Items already in hand (a batch's results): one JSON object per line, or a table. */
export function printRows(mode: OutputMode, rows: object[], columns: string[]): void {
  if (mode === 'json') for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(rows.length ? table(rows as Array<Record<string, unknown>>, columns) : '(none)\n');
}

/** The outcome of a call that answers nothing worth a table (a delete): `value` as JSON, or a sentence. */
export function printDone(mode: OutputMode, value: object, sentence: string): void {
  process.stdout.write(mode === 'json' ? `${JSON.stringify(value)}\n` : `${sentence}\n`);
}
