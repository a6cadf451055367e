import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { HeraldApiError, HeraldClient } from '../sdk/client/index.js';
import { VERSION } from '../version.js';

/**
 * What every client command shares: where Herald is, the key, how to print. Flags win over
 * HERALD_URL / HERALD_API_KEY; without either key, a local server's generated key file
 * (HERALD_DATA_DIR or ./data, then api-key) is used, so `npm start` then `herald apps list`
 * in the same directory just works.
 */
export interface Connection {
  url: string;
  apiKey: string;
  client: HeraldClient;
}

export type OutputMode = 'table' | 'json';

/** Exit codes: 0 ok, 1 the API refused (its code printed), 2 usage. */
export class UsageError extends Error {}

/** Leaves whose own --url is Herald's address (on `endpoints create/update` it is the endpoint's). */
const serverUrlFlag = new WeakSet<Command>();

/**
 * Gives every leaf command of the client groups --url, --api-key and -o, so they may come after
 * the command (`herald apps list -o json`) as well as before it (`herald -o json apps list`).
 * With positional options (main.ts) each level reads only its own, which is what lets
 * `herald endpoints create acme --url https://…` mean the endpoint's URL and
 * `herald listen … --url https://hooks.example.com` mean Herald's.
 */
export function addClientOptions(program: Command, o: { skip: string[]; outputOnly: string[] }): void {
  const has = (cmd: Command, flag: string) => cmd.options.some((opt) => opt.long === flag);
  const visit = (cmd: Command) => {
    if (cmd.commands.length > 0) return cmd.commands.forEach(visit);
    const offline = o.outputOnly.includes(cmd.name());
    if (!offline && !has(cmd, '--url')) {
      cmd.option('--url <url>', 'Herald\'s address (HERALD_URL, default http://127.0.0.1:8400)');
      serverUrlFlag.add(cmd);
    }
    if (!offline && !has(cmd, '--api-key')) cmd.option('--api-key <key>', 'API key (HERALD_API_KEY, default: ./data/api-key of a local server)');
    if (!has(cmd, '--output')) cmd.option('-o, --output <mode>', 'table (default) or json');
  };
  for (const c of program.commands) if (!o.skip.includes(c.name())) visit(c);
}

/** The leaf's own value, else the program's (given before the command). */
export function globalOptions(cmd: Command): { url?: string; apiKey?: string; output?: string } {
  let root = cmd;
  while (root.parent) root = root.parent;
  const own = cmd.opts();
  const top = root.opts();
  return { url: (serverUrlFlag.has(cmd) ? own.url : undefined) ?? top.url, apiKey: own.apiKey ?? top.apiKey, output: own.output ?? top.output };
}

export function connect(cmd: Command, env: NodeJS.ProcessEnv = process.env): Connection {
  const o = globalOptions(cmd);
  const url = (o.url ?? env.HERALD_URL ?? 'http://127.0.0.1:8400').replace(/\/+$/, '');
  let apiKey = o.apiKey ?? env.HERALD_API_KEY;
  if (!apiKey) {
    const file = join(env.HERALD_DATA_DIR || './data', 'api-key');
    if (existsSync(file)) apiKey = readFileSync(file, 'utf8').trim();
  }
  if (!apiKey) throw new UsageError('no API key: pass --api-key, set HERALD_API_KEY, or run in the directory of a local Herald (./data/api-key)');
  return { url, apiKey, client: new HeraldClient({ url, apiKey, headers: { 'user-agent': `herald-cli/${VERSION}` } }) };
}

export function outputMode(cmd: Command): OutputMode {
  const mode = globalOptions(cmd).output ?? 'table';
  if (mode !== 'table' && mode !== 'json') throw new UsageError(`--output must be table or json, not '${mode}'`);
  return mode;
}

/**
 * Runs a command's action and turns what it throws into a message and an exit code:
 * an API error prints its code and message (and details) and exits 1; a usage error exits 2.
 */
export function run<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      if (err instanceof HeraldApiError) {
        process.stderr.write(`herald: ${err.code}: ${err.message}\n`);
        if (err.details !== undefined) process.stderr.write(`${JSON.stringify(err.details, null, 2)}\n`);
        process.exitCode = 1;
      } else if (err instanceof UsageError) {
        process.stderr.write(`herald: ${err.message}\n`);
        process.exitCode = 2;
      } else throw err;
    }
  };
}

/** The bytes of `--body 'text'` or `--body @file` (`@-` for standard input), exactly as they are. */
export function bytesArg(value: string, what: string): Buffer {
  if (!value.startsWith('@')) return Buffer.from(value, 'utf8');
  const file = value.slice(1);
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    throw new UsageError(`${what}: can't read ${file}: ${(err as Error).message}`);
  }
}

/** `--data '{"a":1}'` or `--data @file.json` (`@-` for standard input) */
export function jsonArg(value: string, what: string): unknown {
  const text = bytesArg(value, what).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} is not valid JSON`);
  }
}

/** A JSON object argument (a body, metadata, a schema): arrays and scalars are usage errors. */
export function objectArg(value: string, what: string): Record<string, unknown> {
  const v = jsonArg(value, what);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** `24h`, `30m`, `7d`, `90s` ago, or an ISO 8601 time, as an ISO string. */
export function timeArg(value: string, what: string, now = Date.now()): string {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value.trim());
  if (m) return new Date(now - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's' | 'm' | 'h' | 'd']).toISOString();
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${what} must be a duration like 24h or 30m, or an ISO 8601 time`);
  return new Date(ms).toISOString();
}

export function intArg(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${what} must be an integer`);
  return n;
}

export function numArg(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${what} must be a number`);
  return n;
}

/** Commander collector for options that may be given several times. */
export const repeatable = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `--events a --events b,c` → ['a', 'b', 'c'] */
export const commaList = (values: string[]): string[] => values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);

/** `--header 'name: value'` (repeatable) as an object; a repeated name joins its values with ', ' as HTTP does. */
export function headerArgs(values: string[], what = '--header'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of values) {
    const colon = h.indexOf(':');
    const name = colon > 0 ? h.slice(0, colon).trim() : '';
    if (!name) throw new UsageError(`${what} must look like 'name: value', not '${h}'`);
    const value = h.slice(colon + 1).trim();
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}

/** `--limit`, `--iterator` and `--all`, which every list command takes. */
export function listOptions(cmd: Command): Command {
  return cmd.option('--limit <n>', 'items per page', '50').option('--iterator <cursor>', 'start after this cursor').option('--all', 'every page');
}

export function pageQuery(o: { limit: string; iterator?: string }): { limit: number; iterator?: string } {
  return { limit: intArg(o.limit, '--limit'), iterator: o.iterator };
}
