import type { TransformTestResult } from 'herald-webhooks/client';
import { useMemo, useState } from 'preact/hooks';
import { errorMessage, herald } from '../../api/client';
import { samplesFor } from '../../common/FilterEditor/FilterEditor';
import { useEventTypes } from '../../common/EventPicker/useEventTypes';
import { JSONViewer } from '../../common/JSONViewer/JSONViewer';
import { exampleEnvelope, type FieldProblem } from '../../utils/filters';

export interface TransformSectionProps {
  app: string;
  /** the endpoint being edited; a new one can't be tried before it exists */
  endpointId?: string;
  events: string[];
  source: string;
  saved?: FieldProblem;
  onSource: (text: string) => void;
}

const PLACEHOLDER = `function transform(webhook) {
  // webhook: {type, payload, url, headers}; return it changed, or null to skip
  webhook.payload = { id: webhook.payload.id, type: webhook.type };
  return webhook;
}`;

const OWN = 'own';

/**
 * The endpoint form's "Transform": JavaScript run in Herald's sandbox before each delivery's
 * first send (docs/payloads.md), and a try-out of it on an example through
 * POST …/endpoints/{ep}/transform/test, with the source as typed (not yet saved).
 */
export function TransformSection(p: TransformSectionProps) {
  const types = useEventTypes();
  const samples = useMemo(() => samplesFor(types.data ?? [], p.events), [types.data, p.events]);
  const [pick, setPick] = useState('');
  const [own, setOwn] = useState('{\n  "id": "evt_test",\n  "type": "webhook.test",\n  "data": {}\n}');
  const [result, setResult] = useState<TransformTestResult | string | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = samples.find((s) => s.key === pick) ?? (pick === OWN ? undefined : samples[0]);

  const tryIt = async () => {
    if (!p.endpointId) return;
    let event: unknown;
    let type: string | undefined;
    if (chosen) {
      event = exampleEnvelope(chosen.type, chosen.data);
      type = chosen.type;
    } else {
      try {
        event = JSON.parse(own);
      } catch (err) {
        return setResult(`The body to try is not valid JSON: ${(err as Error).message}`);
      }
    }
    setBusy(true);
    try {
      setResult(await herald.endpoints.testTransform(p.app, p.endpointId, { event, type, transform: p.source.trim() ? p.source : undefined }));
    } catch (err) {
      setResult(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="stack">
      <p class="small muted">
        JavaScript defining <code>function transform(webhook)</code>. It gets <code>{'{type, payload, url, headers}'}</code> and
        returns it changed, or <code>null</code> to skip the delivery. It runs in a sandbox with no network or files, for at most
        50 ms, once per delivery: retries send what it made the first time.
      </p>
      <label>
        <span class="label">Transform (JavaScript)</span>
        <textarea
          id="f-transform" class="code-input" rows={8} spellcheck={false} value={p.source} placeholder={PLACEHOLDER}
          aria-invalid={p.saved ? true : undefined} aria-describedby={p.saved ? 'f-transform-status' : undefined}
          onInput={(e) => {
            p.onSource(e.currentTarget.value);
            setResult(null);
          }}
        />
      </label>
      {p.saved && <div class="field-problem" id="f-transform-status" role="alert">{p.saved.message}</div>}
      <div class="filter-test stack">
        <h3>Try it</h3>
        {!p.endpointId ? (
          <p class="small muted">Save the endpoint first, then try its transform on an example here.</p>
        ) : (
          <>
            <label>
              <span class="label">Event to try</span>
              <select value={chosen?.key ?? OWN} onChange={(e) => { setPick(e.currentTarget.value); setResult(null); }}>
                {samples.map((s) => <option key={s.key} value={s.key}>{s.label}</option>)}
                <option value={OWN}>A body of your own</option>
              </select>
            </label>
            {!chosen && (
              <label>
                <span class="label">Body (JSON)</span>
                <textarea class="code-input" rows={6} spellcheck={false} value={own} onInput={(e) => { setOwn(e.currentTarget.value); setResult(null); }} />
              </label>
            )}
            <div>
              <button type="button" class="btn" disabled={busy} onClick={() => void tryIt()}>{busy ? 'Running…' : 'Try the transform'}</button>
            </div>
            <TransformResult result={result} />
          </>
        )}
      </div>
    </div>
  );
}

function TransformResult({ result }: { result: TransformTestResult | string | null }) {
  if (result === null) return null;
  if (typeof result === 'string') return <div class="match match-bad" role="status"><p><strong>Failed:</strong> {result}</p></div>;
  if (result.skip || !result.request) return <p class="match match-ok" role="status"><strong>Skipped:</strong> the transform returned null, nothing would be sent.</p>;
  const r = result.request;
  return (
    <div class="stack" role="status" aria-label="What would be sent">
      <p class="match match-ok"><strong>Would send</strong> to <code class="url">{r.url}</code></p>
      {Object.keys(r.headers).length > 0 && (
        <table class="table headers-table">
          <tbody>{Object.entries(r.headers).map(([k, v]) => <tr key={k}><td><code>{k}</code></td><td><code>{v}</code></td></tr>)}</tbody>
        </table>
      )}
      <JSONViewer value={r.body} label="The body that would be sent" />
    </div>
  );
}
