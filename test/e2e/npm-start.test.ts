import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { freePort } from '../helpers/receiver.js';
import { waitForHealth } from '../helpers/process.js';

/**
 * `npm start` as a service manager or a container runs it: a signal to the npm process must
 * stop Herald gracefully, not leave it orphaned and serving.
 */
const f = fixtures();
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function startAndSignal(signal: 'SIGTERM' | 'SIGINT'): Promise<{ code: number | null; output: string; stillServing: boolean }> {
  const dir = f.tempDir('herald-npm-start-');
  const port = await freePort();
  const npm = spawn('npm', ['start', '--', '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, HERALD_DATABASE_URL: `sqlite:${join(dir, 'h.db')}`, HERALD_API_KEY: 'npm-start-key-0123456789', HERALD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout.on('data', (d) => (output += d));
  npm.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  f.cleanup(() => void npm.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  await waitForHealth(base, 60_000);
  npm.kill(signal);
  const code = await exited;
  await new Promise((r) => setTimeout(r, 300));
  const stillServing = await fetch(`${base}/health`).then(() => true, () => false);
  return { code, output, stillServing };
}

describe('npm start', () => {
  it('passes SIGTERM on: Herald finishes its work and exits, nothing is left serving', async () => {
    const r = await startAndSignal('SIGTERM');
    expect(r.stillServing).toBe(false);
    expect(r.output).toContain('SIGTERM received');
    expect(r.code).toBe(0);
  }, 90_000);

  it('passes SIGINT (Ctrl-C) on too', async () => {
    const r = await startAndSignal('SIGINT');
    expect(r.stillServing).toBe(false);
    expect(r.output).toContain('SIGINT received');
  }, 90_000);
});
