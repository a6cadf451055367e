import { spawn, type ChildProcess } from 'node:child_process';
import { eventually } from './herald.js';
import { CLI } from './process.js';

/** `herald listen … -o json` as a child process, its stdout read as one JSON event per line. */
export interface Listen {
  child: ChildProcess;
  lines: Array<Record<string, any>>;
  stderr: () => string;
  exited: Promise<number | null>;
  waitFor: (pred: (l: Record<string, any>) => boolean, timeoutMs?: number) => Promise<Record<string, any>>;
}

/** `env` needs HERALD_URL, HERALD_API_KEY and a HERALD_CONFIG_DIR of the test's own. */
export function startListen(args: string[], env: Record<string, string>, cleanup: (fn: () => void) => void): Listen {
  const child = spawn(process.execPath, [CLI, 'listen', ...args, '-o', 'json'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, any>> = [];
  let buffered = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, i)));
      buffered = buffered.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanup(() => {
    child.kill('SIGKILL');
  });
  return {
    child, lines, exited, stderr: () => err,
    waitFor: (pred, timeoutMs = 10_000) => eventually(async () => lines.find(pred), timeoutMs).catch((e) => {
      throw new Error(`${e.message}; listen printed ${JSON.stringify(lines)} and ${err}`);
    }),
  };
}
