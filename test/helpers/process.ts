import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './receiver.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Runs the built `herald` CLI as a real child process. Without the warm-up that `serve` runs
 * before it listens (src/warmup.ts): it adds about two seconds to every start and is tested on
 * its own (test/e2e/warmup.test.ts).
 */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HERALD_LOG_LEVEL: 'warn', HERALD_WARMUP_EVENTS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Waits for /health; given the process, a failure says how it exited and what it printed. */
export async function waitForHealth(url: string, timeoutMs = 15_000, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: number | null | undefined;
  void proc?.exited.then((code) => (exit = code));
  while (Date.now() < deadline && exit === undefined) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const how = exit === undefined ? `within ${timeoutMs} ms` : `: it exited (code ${exit})`;
  throw new Error(`Herald at ${url} did not become healthy ${how}${proc ? `; its output:\n${proc.output().slice(-4000)}` : ''}`);
}

/**
 * `herald serve --dev` on a fixed loopback port and SQLite file, to be started again after a
 * kill -9 at the same address. Every process started is kept in `procs` for cleanup.
 */
export interface Restartable {
  base: string;
  procs: Proc[];
  start(): Proc;
}

export async function restartableServe(dbFile: string, env: Record<string, string>): Promise<Restartable> {
  const port = await freePort();
  const r: Restartable = {
    base: `http://127.0.0.1:${port}`,
    procs: [],
    start: () => {
      const p = runCli(['serve', '--dev', '--port', String(port), '--db', `sqlite:${dbFile}`], env);
      r.procs.push(p);
      return p;
    },
  };
  return r;
}
