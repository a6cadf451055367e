import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { API_KEY, eventually, type TestHerald } from '../helpers/herald.js';
import { CLI } from '../helpers/process.js';
import type { Receiver } from '../helpers/receiver.js';

const f = fixtures();

interface Run { code: number | null; stdout: string; stderr: string }

/** The built bin as a child process, stdout and stderr apart (runCli merges them). */
function bin(args: string[], o: { env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: o.cwd, env: { PATH: process.env.PATH ?? '', ...o.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // EPIPE when it exits without reading its input
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

describe('herald management commands against a real server', () => {
  let t: TestHerald;
  let receiver: Receiver;
  let env: Record<string, string>;
  /** answers of the receiver by path: /fail answers 500 while `failing` */
  let failing = true;

  const cli = (...args: string[]) => bin(args, { env });
  /** `-o json` output: one object per line; a non-zero exit fails the test with what the CLI said */
  const lines = async (...args: string[]): Promise<any[]> => {
    const r = await cli(...args, '-o', 'json');
    if (r.code !== 0) throw new Error(`herald ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };
  const one = async (...args: string[]): Promise<any> => {
    const out = await lines(...args);
    expect(out).toHaveLength(1);
    return out[0];
  };
  const at = (path: string) => receiver.requests.filter((r) => r.path === path);

  beforeAll(async () => {
    t = await f.herald();
    env = { HERALD_URL: t.url, HERALD_API_KEY: API_KEY };
    receiver = await f.receiver();
    receiver.respond = (req) => (req.path === '/fail' && failing ? { status: 500, body: 'down' } : { status: 200, body: 'OK' });
    await one('apps', 'create', '--name', 'Acme', '--uid', 'acme');
  });

  it('finds Herald by flags, by environment, or by the key file of a local server', async () => {
    const cwd = f.tempDir('herald-cli-key-');
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'data', 'api-key'), `${API_KEY}\n`);
    const [byFlags, byFile, noKey] = await Promise.all([
      bin(['apps', 'list', '--url', t.url, '--api-key', API_KEY, '-o', 'json']),
      bin(['apps', 'get', 'acme', '-o', 'json'], { env: { HERALD_URL: t.url }, cwd }),
      bin(['apps', 'list'], { env: { HERALD_URL: t.url }, cwd: f.tempDir() }),
    ]);
    expect(byFlags.code).toBe(0);
    expect(byFlags.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).uid)).toContain('acme');
    expect(byFile.code).toBe(0);
    expect(JSON.parse(byFile.stdout).uid).toBe('acme');
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('no API key');
  });

  it('takes Herald\'s address before the command, and after `endpoints create` reads --url as the endpoint\'s', async () => {
    await one('apps', 'create', '--name', 'Positional', '--uid', 'positional');
    const [before, wrongAfter] = await Promise.all([
      bin(['--url', t.url, '--api-key', API_KEY, '-o', 'json', 'endpoints', 'create', 'positional', '--url', `${receiver.url}/positional`, '--disabled']),
      bin(['apps', 'list', '--url', 'http://127.0.0.1:9', '--api-key', API_KEY]),
    ]);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ url: `${receiver.url}/positional`, status: 'disabled' });
    // After any other command, --url is Herald's address: this one points nowhere.
    expect(wrongAfter.code).toBe(1);
    expect(wrongAfter.stderr).toContain('network_error');
  });

  it('event-types: create with a schema that publishing then enforces, update, archive', async () => {
    const [created] = await Promise.all([
      one('event-types', 'create', '--name', 'person.created', '--description', 'a person', '--schema', '{"type":"object","required":["id"]}'),
      one('event-types', 'create', '--name', 'person.merged'),
    ]);
    expect(created).toMatchObject({ name: 'person.created', description: 'a person', schema: { type: 'object', required: ['id'] } });
    const [updated, archived, rejected] = await Promise.all([
      one('event-types', 'update', 'person.created', '--description', 'someone'),
      one('event-types', 'archive', 'person.merged'),
      cli('events', 'publish', 'acme', '--type', 'person.created', '--data', '{"name":"no id"}'),
    ]);
    expect(updated.description).toBe('someone');
    expect(archived.archived).toBe(true);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain('schema_validation_failed');

    const [got, listed, all] = await Promise.all([
      one('event-types', 'get', 'person.created'),
      lines('event-types', 'list'),
      lines('event-types', 'list', '--include-archived'),
    ]);
    expect(got.description).toBe('someone');
    expect(listed.map((e) => e.name)).toEqual(['person.created']);
    expect(all.map((e) => e.name).sort()).toEqual(['person.created', 'person.merged']);
    expect((await one('event-types', 'update', 'person.merged', '--unarchive')).archived).toBe(false);
  });

  /** the endpoints of acme, and its first event, shared by the tests below */
  let ok: any;
  let bad: any;
  let published: any;

  it('endpoints create; events publish; the delivery log, retry and recover', async () => {
    let people: Run;
    [ok, people] = await Promise.all([
      one('endpoints', 'create', 'acme', '--url', `${receiver.url}/ok`, '--events', 'person.*',
        '--header', 'X-Tenant: acme', '--timeout-ms', '5000', '--max-in-flight', '4', '--rate-limit', '50', '--retry-schedule', '1,2'),
      cli('endpoints', 'create', 'acme', '--url', `${receiver.url}/fail`, '--events', 'person.created,other.thing', '--retry-schedule', 'none'),
    ]);
    expect(ok).toMatchObject({ events: ['person.*'], headers: { 'x-tenant': 'acme' }, timeoutMs: 5000, maxInFlight: 4, rateLimit: 50, retrySchedule: [1, 2] });
    expect(ok.secret).toMatch(/^whsec_/);
    // people get the secret set apart and told it's shown once
    expect(people.code).toBe(0);
    expect(people.stdout).toMatch(/Signing secret, shown once[^\n]*\n\n {2}whsec_\S+\n/);
    const badId = /^id +(ep_\w+)$/m.exec(people.stdout)?.[1];
    let every: any[];
    [bad, every] = await Promise.all([one('endpoints', 'get', 'acme', badId!), lines('endpoints', 'list', 'acme', '--limit', '1', '--all')]);
    expect(bad).toMatchObject({ url: `${receiver.url}/fail`, events: ['person.created', 'other.thing'], retrySchedule: [] });
    expect(every.map((e) => e.id).sort()).toEqual([ok.id, bad.id].sort());

    published = await one('events', 'publish', 'acme', '--type', 'person.created', '--data', '{"id":1,"name":"Ada"}');
    expect(published).toMatchObject({ type: 'person.created', deliveries: 2 });
    const got = await eventually(async () => at('/ok')[0]);
    const signed = new Webhook(ok.secret.slice('whsec_'.length)).verify(got.body, got.headers as Record<string, string>);
    expect(signed).toMatchObject({ id: published.id, data: { id: 1 } });
    expect(got.headers['x-tenant']).toBe('acme');
    // the delivery log catches up just after the receiver answered
    const logged = (status: string, ep: string) =>
      eventually(async () => (await t.api('GET', `/v1/apps/acme/deliveries?status=${status}&endpointId=${ep}`)).body.data.length);
    await Promise.all([logged('success', ok.id), logged('failed', bad.id)]);

    const [captured, [delivered], [failed]] = await Promise.all([
      // `herald verify` accepts a real delivery
      cli('verify', '--secret', ok.secret, '--body', got.body, '--headers', JSON.stringify(got.headers)),
      lines('deliveries', 'list', 'acme', '--status', 'success', '--event', published.id),
      lines('deliveries', 'list', 'acme', '--status', 'failed', '--endpoint', bad.id),
    ]);
    expect([captured.code, captured.stdout]).toEqual([0, 'valid\n']);
    expect(delivered).toMatchObject({ endpointId: ok.id, eventId: published.id });
    expect(failed).toMatchObject({ eventId: published.id, lastStatusCode: 500 });

    // a retry of a finished delivery is one more attempt; recover sends the failed one again once its receiver is back
    failing = false;
    const [retry, recovered] = await Promise.all([
      one('deliveries', 'retry', 'acme', delivered.id), one('endpoints', 'recover', 'acme', bad.id, '--since', '1h'),
    ]);
    expect(retry).toEqual({ id: delivered.id, status: 'pending' });
    expect(recovered).toEqual({ requeued: 1 });
    await eventually(async () => (await t.api('GET', `/v1/apps/acme/deliveries/${delivered.id}`)).body.attempts.length === 2);
    await logged('success', bad.id);
    const [detail, table, fixed, stats] = await Promise.all([
      one('deliveries', 'get', 'acme', delivered.id),
      cli('deliveries', 'get', 'acme', delivered.id),
      lines('endpoints', 'deliveries', 'acme', bad.id, '--status', 'success'),
      one('endpoints', 'stats', 'acme', bad.id),
    ]);
    expect(detail.attempts.map((a: any) => a.statusCode)).toEqual([200, 200]);
    expect(table.stdout).toMatch(/attempts:\nNUMBER +STARTEDAT +DURATIONMS +STATUSCODE +ERROR\n1 .*\n2 /);
    expect(fixed.map((d) => d.id)).toEqual([failed.id]);
    // The bad endpoint's last 24 h: the failed attempt, then the recovered one.
    expect(stats).toMatchObject({ total: 2, succeeded: 1, failed: 1, pending: 0 });
    expect([at('/ok').length, at('/fail').length]).toEqual([2, 2]);
  }, 60_000);

  it('events publish from a file, with keys; publish-batch; list and get', async () => {
    const dir = f.tempDir();
    writeFileSync(join(dir, 'data.json'), '{"id":2}');
    writeFileSync(join(dir, 'events.json'), JSON.stringify([{ type: 'other.thing', data: { n: 1 } }, { type: 'other.thing', data: { n: 2 } }]));
    const [mine, batch] = await Promise.all([
      one('events', 'publish', 'acme', '--type', 'person.created', '--data', `@${join(dir, 'data.json')}`, '--id', 'person-2', '--idempotency-key', 'k-2'),
      lines('events', 'publish-batch', 'acme', '--file', join(dir, 'events.json')),
    ]);
    expect(mine.id).toBe('person-2');
    expect(batch.map((e) => [e.type, e.duplicate])).toEqual([['other.thing', false], ['other.thing', false]]);
    const [again, event, others, feed] = await Promise.all([
      one('events', 'publish', 'acme', '--type', 'person.created', '--data', '{"id":3}', '--idempotency-key', 'k-2'),
      one('events', 'get', 'acme', 'person-2'),
      lines('events', 'list', 'acme', '--type', 'other.thing'),
      lines('events', 'list', 'acme', '--all', '--limit', '2'),
    ]);
    expect(again.id).toBe('person-2');
    expect(event.data).toEqual({ id: 2 });
    expect(others.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(feed.map((e) => e.id).sort()).toEqual([published.id, 'person-2', ...batch.map((e) => e.id)].sort());
  });

  it('endpoints secret, rotate-secret, test, update --disable/--enable, delete', async () => {
    const rotated = await one('endpoints', 'rotate-secret', 'acme', ok.id, '--grace-seconds', '0');
    expect(rotated.secret).not.toBe(ok.secret);
    const [now, test] = await Promise.all([one('endpoints', 'secret', 'acme', ok.id), one('endpoints', 'test', 'acme', ok.id)]);
    expect(now).toEqual({ secret: rotated.secret });
    const seen = await eventually(async () => at('/ok').find((r) => JSON.parse(r.body).type === 'webhook.test'));
    expect(new Webhook(rotated.secret.slice('whsec_'.length)).verify(seen.body, seen.headers as Record<string, string>)).toMatchObject({ id: test.eventId });
    expect((await one('endpoints', 'update', 'acme', ok.id, '--disable')).status).toBe('disabled');
    expect(await one('endpoints', 'update', 'acme', ok.id, '--enable', '--description', 'CRM')).toMatchObject({ status: 'active', description: 'CRM' });

    const relay = await one('endpoints', 'create', 'acme', '--relay', '--events', 'relay.only');
    expect(relay).toMatchObject({ type: 'relay', events: ['relay.only'], secret: expect.stringMatching(/^whsec_/) });
    expect(await Promise.all([one('endpoints', 'delete', 'acme', bad.id), one('endpoints', 'delete', 'acme', relay.id)]))
      .toEqual([{ deleted: bad.id }, { deleted: relay.id }]);
    const gone = await cli('endpoints', 'get', 'acme', bad.id);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('not_found');
  });

  it('sources: create, the request log with rejected requests, raw bodies, replay', async () => {
    const src = await one('sources', 'create', '--name', 'GitHub', '--scheme', 'github', '--secret', 'gh-secret', '--forward', `${receiver.url}/gh`);
    expect(src).toMatchObject({
      name: 'GitHub', verification: { scheme: 'github', secretCount: 1 }, destinations: [{ type: 'http', url: `${receiver.url}/gh` }],
    });
    const body = '{"action":"opened","issue":{"number":1}}';
    const sig = `sha256=${createHmac('sha256', 'gh-secret').update(body).digest('hex')}`;
    const post = (signature: string) =>
      fetch(src.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
    expect((await post('sha256=00')).status).toBe(401);
    expect((await post(sig)).status).toBe(202);

    const [rejected, everyRejected, [accepted]] = await Promise.all([
      lines('sources', 'requests', src.id, '--status', 'rejected'),
      lines('sources', 'requests', src.id, '--status', 'rejected', '--all', '--limit', '1'),
      lines('sources', 'requests', src.id, '--status', 'accepted'),
    ]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ status: 'rejected', reason: 'invalid_signature' });
    expect(everyRejected.map((r) => r.id)).toEqual([rejected[0].id]);
    await eventually(async () => (await t.api('GET', `/v1/sources/${src.id}/requests/${accepted.id}`)).body.forwarding === 'delivered');
    const [raw, detail, replayed] = await Promise.all([
      cli('sources', 'body', src.id, accepted.id), one('sources', 'request', src.id, accepted.id), one('sources', 'replay', src.id, accepted.id),
    ]);
    expect([raw.code, raw.stdout]).toEqual([0, body]);
    expect(detail.deliveryLog[0].attempts[0].statusCode).toBe(200);
    expect(replayed).toEqual({ replayed: 1 });
    await eventually(async () => at('/gh').length === 2);
    expect(at('/gh').map((r) => r.body)).toEqual([body, body]);

    const inbox = JSON.stringify({ name: 'x', verification: { scheme: 'none' }, destinations: [{ app: 'acme', eventType: 'person.merged' }] });
    const [window, renamed, other] = await Promise.all([
      one('sources', 'replay', src.id, '--since', '1h'),
      one('sources', 'update', src.id, '--name', 'GH'),
      one('sources', 'create', '--data', inbox, '--name', 'Inbox'),
    ]);
    expect(window).toEqual({ replayed: 0 });
    expect(renamed.name).toBe('GH');
    expect(other).toMatchObject({ name: 'Inbox', destinations: [{ type: 'app', eventType: 'person.merged' }] });
    expect((await lines('sources', 'list')).map((s) => s.name).sort()).toEqual(['GH', 'Inbox']);
    expect(await one('sources', 'delete', other.id)).toEqual({ deleted: other.id });
    expect((await cli('sources', 'get', other.id)).code).toBe(1);
  });

  it('exits 1 with the API\'s code on API errors and 2 on usage errors', async () => {
    const events = async () => (await t.api('GET', '/v1/apps/acme/events?limit=250')).body.data.length;
    const before = await events();
    const [notFound, badJson, notObject, noType, missing, badInt, badReplay] = await Promise.all([
      cli('apps', 'get', 'nope'),
      cli('events', 'publish', 'acme', '--type', 'person.created', '--data', '{"id":'),
      cli('events', 'publish', 'acme', '--type', 'person.created', '--data', '[1]'),
      cli('events', 'publish', 'acme', '--data', '{"id":1}'),
      cli('endpoints', 'create', 'acme', '--events', 'a.b'),
      cli('endpoints', 'list', 'acme', '--limit', 'ten'),
      cli('sources', 'replay', 'src_x'),
    ]);
    expect([notFound.code, notFound.stdout]).toEqual([1, '']);
    expect(notFound.stderr).toMatch(/^herald: not_found: /);
    expect([badJson.code, badJson.stderr]).toEqual([2, 'herald: --data is not valid JSON\n']);
    expect([notObject.code, notObject.stderr]).toEqual([2, 'herald: --data must be a JSON object\n']);
    expect([noType.code, noType.stderr]).toEqual([2, 'error: required option \'--type <type>\' not specified\n']);
    expect([missing.code, missing.stderr]).toEqual([2, 'herald: give either --url <url> or --relay\n']);
    expect([badInt.code, badInt.stderr]).toEqual([2, 'herald: --limit must be an integer\n']);
    expect(badReplay.code).toBe(2);
    expect(await events()).toBe(before);
  });

  it('sign prints headers that standardwebhooks accepts, and verify checks them', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"type":"person.created","data":{"id":1}}';
    const now = Math.floor(Date.now() / 1000);
    const [json, people, hourAgo] = await Promise.all([
      bin(['sign', '--secret', secret, '--body', body, '--id', 'msg_1', '--timestamp', String(now), '-o', 'json']),
      bin(['sign', '--secret', secret, '--body', body]),
      bin(['sign', '--secret', secret, '--body', body, '--timestamp', String(now - 3600), '-o', 'json']),
    ]);
    expect(json.code).toBe(0);
    const headers = JSON.parse(json.stdout);
    expect(Object.keys(headers)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-webhook-signature']);
    expect(headers).toMatchObject({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(now) });
    expect(new Webhook(secret.slice('whsec_'.length)).verify(body, headers)).toEqual(JSON.parse(body));
    expect(headers['x-webhook-signature']).toBe(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    expect(people.stdout).toMatch(/^webhook-id: msg_\w+\nwebhook-timestamp: \d+\nwebhook-signature: v1,\S+\nx-webhook-signature: sha256=[0-9a-f]{64}\n$/);

    const headerFlags = people.stdout.trim().split('\n').flatMap((h) => ['--header', h]);
    const file = join(f.tempDir(), 'headers.json');
    writeFileSync(file, json.stdout);
    const [valid, validFile, wrongSecret, legacy, tooOld, tolerated] = await Promise.all([
      bin(['verify', '--secret', secret, '--body', body, ...headerFlags]),
      bin(['verify', '--secret', secret, '--body', '@-', '--headers', `@${file}`, '-o', 'json'], { input: body }),
      bin(['verify', '--secret', 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '--body', body, ...headerFlags, '-o', 'json']),
      bin(['verify', '--scheme', 'legacy', '--secret', secret, '--body', body, '--header', `x-webhook-signature: ${headers['x-webhook-signature']}`]),
      bin(['verify', '--secret', secret, '--body', body, '--headers', hourAgo.stdout]),
      bin(['verify', '--secret', secret, '--body', body, '--headers', hourAgo.stdout, '--tolerance', '7200']),
    ]);
    expect([valid.code, valid.stdout]).toEqual([0, 'valid\n']);
    expect([validFile.code, JSON.parse(validFile.stdout)]).toEqual([0, { valid: true, scheme: 'standard', id: 'msg_1', timestamp: now }]);
    expect([wrongSecret.code, JSON.parse(wrongSecret.stdout).code]).toEqual([1, 'invalid_signature']);
    expect(wrongSecret.stderr).toContain('invalid_signature');
    expect([legacy.code, legacy.stdout]).toEqual([0, 'valid\n']);
    expect(tooOld.code).toBe(1);
    expect(tooOld.stderr).toContain('timestamp_too_old');
    expect([tolerated.code, tolerated.stdout]).toEqual([0, 'valid\n']);
  });
});
