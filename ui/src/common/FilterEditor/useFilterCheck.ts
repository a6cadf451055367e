import type { FilterTestResult } from 'herald-webhooks/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorMessage, herald, problemOf } from '../../api/client';
import { parseFilter, parseJsonObject, type FieldProblem, type JsonObject } from '../../utils/filters';

export type FilterCheck =
  /** the box is empty: no filter */
  | { state: 'none' }
  /** not JSON, or not an object: said here, without asking the server */
  | { state: 'syntax'; message: string }
  /** the first answer is on its way */
  | { state: 'checking' }
  /** the server refused it (invalid_filter): what and where */
  | { state: 'invalid'; problem: FieldProblem; pending: boolean }
  /** a filter the server compiles; with an event to test, whether it matches */
  | { state: 'valid'; result?: FilterTestResult; eventProblem?: string; pending: boolean }
  /** no answer (network, server): the filter is checked again when saved */
  | { state: 'unchecked'; message: string; pending: boolean };

export const EVENT_EXAMPLE = '{"type": "person.created", "data": {…}}';

async function ask(filter: JsonObject, event: JsonObject | null): Promise<Exclude<FilterCheck, { state: 'none' | 'syntax' | 'checking' }>> {
  try {
    const result = await herald.endpoints.testUnsavedFilter({ filter, event: event ?? {} });
    return { state: 'valid', result: event ? result : undefined, pending: false };
  } catch (err) {
    const p = problemOf(err);
    if (p?.field === 'filter') return { state: 'invalid', problem: p.problem, pending: false };
    // The event was refused (too long an id, too many channels): the filter on its own, then.
    if (p?.field === 'event' && event) {
      const alone = await ask(filter, null);
      return alone.state === 'valid' ? { ...alone, eventProblem: `${p.problem.path ?? ''} ${p.problem.message}`.trim() } : alone;
    }
    return { state: 'unchecked', message: errorMessage(err), pending: false };
  }
}

/**
 * The filter typed so far, checked by the server (`POST /v1/filters/test`) once typing pauses,
 * against the event being tried if there is one. An answer to older text is dropped; while a
 * newer one is on its way the last answer stays on screen, marked pending.
 */
export function useFilterCheck(text: string, eventText: string, delayMs = 350): FilterCheck {
  const parsed = useMemo(() => parseFilter(text), [text]);
  const event = useMemo(() => parseJsonObject(eventText, 'An event', EVENT_EXAMPLE), [eventText]);
  const key = `${text}\u0000${eventText}`;
  const [answer, setAnswer] = useState<{ key: string; check: Exclude<FilterCheck, { state: 'none' | 'syntax' | 'checking' }> }>();

  useEffect(() => {
    if ('problem' in parsed || parsed.filter === null) return;
    const filter = parsed.filter;
    let stale = false;
    const timer = setTimeout(() => {
      void ask(filter, 'value' in event ? event.value : null).then((check) => {
        if (!stale) setAnswer({ key, check });
      });
    }, delayMs);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [key]);

  if ('problem' in parsed) return { state: 'syntax', message: parsed.problem };
  if (parsed.filter === null) return { state: 'none' };
  if (!answer) return { state: 'checking' };
  return answer.key === key ? answer.check : { ...answer.check, pending: true };
}
