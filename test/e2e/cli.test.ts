import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/sqlite/migrations.js';
import { freePort } from '../helpers/receiver.js';
import { runCli, waitForHealth } from '../helpers/process.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('herald CLI', () => {
  it('serve generates and prints an API key once, with a curl example, and stops cleanly on SIGTERM', async () => {
    const cwd = tmp();
    const port = await freePort();
    const first = runCli(['serve', '--port', String(port)], {}, cwd);
    await waitForHealth(`http://127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
    const keyFile = join(cwd, 'data', 'api-key');
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(cwd, 'data', 'encryption-key')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(cwd, 'data', 'herald.db'))).toBe(true);
    expect(first.output()).toContain(key);
    expect(first.output()).toContain(`curl -s -X POST http://127.0.0.1:${port}/v1/apps`);
    const res = await fetch(`http://127.0.0.1:${port}/v1/apps`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    // Where the dashboard is, and that it is there: the built web app, under its CSP.
    expect(first.output()).toContain(`Dashboard: http://127.0.0.1:${port}/ui/ (sign in with the API key)`);
    const page = await fetch(`http://127.0.0.1:${port}/ui/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module"[^>]* src="\/ui\/assets\/index-[\w-]+\.js"/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = runCli(['serve', '--port', String(port)], {}, cwd);
    await waitForHealth(`http://127.0.0.1:${port}`);
    expect(second.output()).not.toContain(key);
    // Later starts still say where the key is.
    await new Promise((r) => setTimeout(r, 100));
    expect(second.output()).toContain('API key: in data/api-key');
    expect((await fetch(`http://127.0.0.1:${port}/v1/apps`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('says loudly when dev mode is on', async () => {
    const cwd = tmp();
    const port = await freePort();
    const p = runCli(['serve', '--dev', '--port', String(port)], { HERALD_API_KEY: 'k'.repeat(20) }, cwd);
    await waitForHealth(`http://127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
    expect(p.output()).toMatch(/HERALD_DEV is ON/);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('rejects bad configuration with a clear message and exit code 2', async () => {
    const p = runCli(['serve'], { HERALD_PORT: 'eighty' }, tmp());
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('HERALD_PORT="eighty" is invalid');
  });

  it('migrate creates the schema and is idempotent', async () => {
    const dir = tmp();
    const db = join(dir, 'm.db');
    for (let i = 0; i < 2; i++) {
      const p = runCli(['migrate', '--db', `sqlite:${db}`], {}, dir);
      expect(await p.exited).toBe(0);
      expect(p.output()).toContain('migrations applied');
    }
    const conn = new Database(db, { readonly: true });
    const tables = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r: any) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['apps', 'endpoints', 'events', 'deliveries', 'attempts', 'herald_migrations']));
    expect(conn.prepare('SELECT COUNT(*) AS n FROM herald_migrations').get()).toEqual({ n: migrations.length });
    conn.close();
  });
});
