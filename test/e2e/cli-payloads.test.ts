import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { API_KEY, eventually, type TestHerald } from '../helpers/herald.js';
import { CLI } from '../helpers/process.js';
import type { Receiver } from '../helpers/receiver.js';

/** The CLI's part of payload shapes: --payload, --fields, --transform, thin over the client. */
const f = fixtures();

function herald(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '-o', 'json'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

describe('herald CLI: payload shapes', () => {
  let t: TestHerald;
  let r: Receiver;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await f.herald();
    r = await f.receiver();
    env = { HERALD_URL: t.url, HERALD_API_KEY: API_KEY };
    await t.api('POST', '/v1/apps', { name: 'Twenty', uid: 'twenty', envelopeProfile: { fields: { type: 'event' }, sequence: false, extra: ['workspaceId'] } });
  });

  it('publishes with --fields and --payload, and sets an endpoint transform from a file', async () => {
    const file = join(f.tempDir(), 'transform.js');
    writeFileSync(file, 'function transform(w) { w.payload = { e: w.payload.event, ws: w.payload.workspaceId }; return w; }');
    const created = await herald(['endpoints', 'create', 'twenty', '--url', `${r.url}/t`, '--transform', `@${file}`], env);
    expect(created.code, created.stderr).toBe(0);
    const ep = JSON.parse(created.stdout.split('\n')[0]);
    expect(ep.transform).toMatch(/^function transform/);
    const published = await herald(['events', 'publish', 'twenty', '--type', 'person.created', '--data', '{"a":1}', '--fields', '{"workspaceId":"ws_1"}'], env);
    expect(published.code, published.stderr).toBe(0);
    await r.waitFor(1);
    expect(r.requests[0].body).toBe('{"e":"person.created","ws":"ws_1"}');
    expect((await herald(['endpoints', 'update', 'twenty', ep.id, '--transform', ''], env)).code).toBe(0);
    const raw = await herald(['events', 'publish', 'twenty', '--type', 'raw.x', '--payload', '[1,"ë"]'], env);
    expect(raw.code, raw.stderr).toBe(0);
    await eventually(async () => r.requests.length === 2);
    expect(r.requests[1].body).toBe('[1,"ë"]');
    const neither = await herald(['events', 'publish', 'twenty', '--type', 'x.y'], env);
    expect([neither.code, neither.stderr]).toEqual([2, 'herald: give either --data <json> or --payload <json>\n']);
    const typo = await herald(['events', 'publish', 'twenty', '--type', 'x.y', '--data', '{}', '--fields', '{"workspaceID":"w"}'], env);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/^herald: invalid_payload: /);
  });
});
