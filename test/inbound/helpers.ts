import type { TestHerald } from '../helpers/herald.js';

/** Creates a source through the API; throws with the error body when it isn't 201. */
export async function createSource(t: TestHerald, body: Record<string, unknown>): Promise<any> {
  const res = await t.api('POST', '/v1/sources', body);
  if (res.status !== 201) throw new Error(`source create failed (${res.status}): ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface Sent {
  status: number;
  headers: Headers;
  body: any;
}

/** Posts raw bytes to a source's ingest URL, as a provider would (no API key). */
export async function post(ingestUrl: string, body: string, headers: Record<string, string> = {}): Promise<Sent> {
  const res = await fetch(ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** The source's request log (newest first), optionally filtered by status. */
export async function requestLog(t: TestHerald, sourceId: string, status?: string): Promise<any[]> {
  const res = await t.api('GET', `/v1/sources/${sourceId}/requests?limit=250${status ? `&status=${status}` : ''}`);
  return res.body.data;
}
