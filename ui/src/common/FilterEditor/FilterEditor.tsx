import type { FilterTestResult } from 'herald-webhooks/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { exampleFromSchema, subscribes } from '../../utils/events';
import { exampleEnvelope, FILTER_EXAMPLE, parseJsonObject, withoutPath, type FieldProblem } from '../../utils/filters';
import { useEventTypes, type CatalogueEntry } from '../EventPicker/useEventTypes';
import { EVENT_EXAMPLE, useFilterCheck, type FilterCheck } from './useFilterCheck';

interface Sample {
  key: string;
  label: string;
  type: string;
  data: unknown;
}

const OWN = 'own';

/** The examples a filter can be tried on: those of the catalogue's types that the endpoint subscribes to. */
export function samplesFor(types: CatalogueEntry[], events: string[]): Sample[] {
  const out: Sample[] = [];
  for (const t of types) {
    if (t.archived || !subscribes(events, t.name)) continue;
    const examples = Array.isArray(t.examples) ? t.examples : [];
    examples.forEach((data, i) => out.push({ key: `${t.name}#${i}`, label: examples.length > 1 ? `${t.name}: example ${i + 1}` : `${t.name}: example`, type: t.name, data }));
    if (examples.length === 0 && t.schema) out.push({ key: `${t.name}#schema`, label: `${t.name}: made from its schema`, type: t.name, data: exampleFromSchema(t.schema) });
  }
  return out;
}

/** A refused filter: where (the JSON pointer) and what, as the server said it. */
export function FilterProblem({ problem, id }: { problem: FieldProblem; id?: string }) {
  return (
    <div class="field-problem" id={id} role="alert">
      {problem.path && <span>At <code class="chip">{problem.path}</code></span>}
      <span>{withoutPath(problem.message, problem.path)}</span>
    </div>
  );
}

/** "Matches" or "Does not match: <why>", as the server answered. */
export function MatchResult({ result, all = false }: { result: FilterTestResult; all?: boolean }) {
  if (result.matches) {
    return <p class="match match-ok"><strong>Matches</strong></p>;
  }
  const [first, ...more] = result.reasons;
  return (
    <div class="match match-bad">
      <p><strong>Does not match:</strong> {first?.message ?? 'no reason given'}</p>
      {first?.path && <p class="small">At <code>{first.path}</code></p>}
      {all && more.length > 0 && (
        <ul class="reasons">
          {more.map((r, i) => <li key={i}><code>{r.path}</code> {r.message}</li>)}
        </ul>
      )}
    </div>
  );
}

function Status({ check, saved }: { check: FilterCheck; saved?: FieldProblem }) {
  // What the server said on save wins until the filter is changed (the form then clears it).
  if (saved) return <FilterProblem problem={saved} id="f-filter-status" />;
  switch (check.state) {
    case 'none':
      return <p class="muted small" id="f-filter-status">No filter: the endpoint gets every event of the types above.</p>;
    case 'syntax':
      return <p class="field-problem" id="f-filter-status" role="alert">{check.message}</p>;
    case 'checking':
      return <p class="muted small" id="f-filter-status">Checking…</p>;
    case 'invalid':
      return <div aria-busy={check.pending}><FilterProblem problem={check.problem} id="f-filter-status" /></div>;
    case 'unchecked':
      return <p class="muted small" id="f-filter-status">Couldn't check the filter ({check.message}); it is checked again when you save.</p>;
    case 'valid':
      return <p class="ok-text small" id="f-filter-status" aria-busy={check.pending}>Valid filter.</p>;
  }
}

/**
 * The endpoint form's payload filter: a JSON box the server checks as the person types
 * (`POST /v1/filters/test`, what is wrong and where), and an event to try it on, one of the
 * subscribed types' examples or an envelope of their own, with the server's verdict.
 */
export function FilterEditor({ text, onText, events, saved }: { text: string; onText: (t: string) => void; events: string[]; saved?: FieldProblem }) {
  const types = useEventTypes();
  const samples = useMemo(() => samplesFor(types.data ?? [], events), [types.data, events]);
  const [pick, setPick] = useState('');
  const [eventText, setEventText] = useState('');
  const check = useFilterCheck(text, eventText);
  const eventParsed = useMemo(() => parseJsonObject(eventText, 'An event', EVENT_EXAMPLE), [eventText]);

  /** An example fills the envelope in; "your own" empties it for pasting. */
  const choose = (key: string) => {
    setPick(key);
    const s = samples.find((x) => x.key === key);
    setEventText(s ? JSON.stringify(exampleEnvelope(s.type, s.data), null, 2) : '');
  };
  // The first example is there to try from the start, once the catalogue is in.
  useEffect(() => {
    if (pick === '' && !eventText && samples.length > 0) choose(samples[0].key);
  }, [samples]);
  const selected = samples.some((s) => s.key === pick) ? pick : OWN;
  const invalid = !!saved || check.state === 'syntax' || check.state === 'invalid';

  return (
    <fieldset class="filter-editor">
      <legend>Filter <span class="muted">(optional)</span></legend>
      <p class="muted small">
        Only events whose envelope (<code>id</code>, <code>type</code>, <code>timestamp</code>, <code>data</code>, <code>channels</code>) matches are delivered.
        Keys are paths like <code>data.amount</code>; a value means equal, or use <code>$eq $neq $gt $gte $lt $lte $in $nin $exists $startsWith $endsWith $contains $regex</code> and <code>$and $or $not</code>.
      </p>
      <label>
        <span class="label">Filter (JSON)</span>
        <textarea
          id="f-filter"
          class="code-input"
          rows={6}
          spellcheck={false}
          autocomplete="off"
          autocapitalize="off"
          placeholder={FILTER_EXAMPLE}
          value={text}
          aria-invalid={invalid}
          aria-describedby="f-filter-status"
          onInput={(e) => onText(e.currentTarget.value)}
        />
      </label>
      <div aria-live="polite">
        <Status check={check} saved={saved} />
      </div>

      <div class="filter-test stack">
        <h3>Test against</h3>
        <label>
          <span class="label">Event to try</span>
          <select value={selected} onChange={(e) => choose(e.currentTarget.value)}>
            {samples.map((s) => <option key={s.key} value={s.key}>{s.label}</option>)}
            <option value={OWN}>An envelope of your own (paste it below)</option>
          </select>
        </label>
        <label>
          <span class="label">Event envelope (JSON)</span>
          <textarea
            class="code-input"
            rows={8}
            spellcheck={false}
            autocomplete="off"
            autocapitalize="off"
            placeholder={EVENT_EXAMPLE}
            value={eventText}
            onInput={(e) => {
              setPick(OWN);
              setEventText(e.currentTarget.value);
            }}
          />
        </label>
        <div class="filter-verdict" role="status" aria-live="polite">
          {'problem' in eventParsed ? (
            <p class="field-problem">{eventParsed.problem}</p>
          ) : eventParsed.value === null ? (
            <p class="muted small">Pick an example or paste an event to see whether it would be delivered.</p>
          ) : check.state === 'none' ? (
            <p class="muted small">No filter: every event of the subscribed types is delivered.</p>
          ) : check.state === 'valid' && check.eventProblem ? (
            <p class="field-problem">This event can't be tested: {check.eventProblem}</p>
          ) : check.state === 'valid' && check.result ? (
            <div aria-busy={check.pending}><MatchResult result={check.result} /></div>
          ) : check.state === 'checking' ? (
            <p class="muted small">Checking…</p>
          ) : check.state === 'unchecked' ? (
            <p class="muted small">Couldn't test it: {check.message}</p>
          ) : (
            <p class="muted small">Fix the filter to test it.</p>
          )}
        </div>
      </div>
    </fieldset>
  );
}
