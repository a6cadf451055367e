import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, homedir } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { isLocalHostname } from '../../core/address.js';
import { RelayListener, type Forwarded } from '../../relay/listener.js';
import { HeraldApiError, type HeraldClient } from '../../sdk/client/index.js';
import { connect, outputMode, run, UsageError, type OutputMode } from '../context.js';

/** The local target must be on this machine unless --allow-external: the relay is for developing a handler. */
function checkTarget(raw: string, allowExternal: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`'${raw}' is not a URL; give the local address, e.g. http://localhost:3000/webhooks`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('the local URL must be http:// or https://');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = isLocalHostname(host) || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
  if (!loopback && !allowExternal) throw new UsageError(`${host} is not this machine; herald listen forwards to loopback only (pass --allow-external to forward elsewhere)`);
  return url.toString();
}

/**
 * Which relay endpoint this machine uses per server and app (or source), so the developer's
 * subscription and secret stay the same from one run to the next.
 */
class Remembered {
  readonly file: string;
  constructor(env: NodeJS.ProcessEnv) {
    const dir = env.HERALD_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'herald');
    this.file = join(dir, 'listen.json');
  }
  private read(): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }
  get(key: string): string | undefined {
    return this.read()[key];
  }
  set(key: string, endpointId: string): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, `${JSON.stringify({ ...this.read(), [key]: endpointId }, null, 2)}\n`, { mode: 0o600 });
  }
}

const notFound = (err: unknown) => err instanceof HeraldApiError && err.status === 404;

/** The app's relay endpoint: the one asked for, else the remembered one, else a new one. */
async function appEndpoint(client: HeraldClient, app: string, o: { endpoint?: string; events?: string[] }, memory: Remembered, key: string) {
  const id = o.endpoint ?? memory.get(key);
  let ep = id ? await client.endpoints.get(app, id).catch((err) => (notFound(err) && !o.endpoint ? null : Promise.reject(err))) : null;
  if (ep && ep.type !== 'relay') throw new UsageError(`endpoint ${ep.id} delivers over HTTP to ${ep.url}; give a relay endpoint (or none, and one is made)`);
  if (!ep) ep = await client.endpoints.create(app, { type: 'relay', events: o.events ?? null, description: `herald listen on ${hostname()}` });
  else if (o.events && JSON.stringify(o.events) !== JSON.stringify(ep.events)) ep = await client.endpoints.update(app, ep.id, { events: o.events });
  memory.set(key, ep.id);
  return ep;
}

/** A source's relay destination: kept between runs like an app's, added to the source's destinations when missing. */
async function sourceEndpoint(client: HeraldClient, sourceId: string, memory: Remembered, key: string) {
  const source = await client.sources.get(sourceId);
  const remembered = memory.get(key);
  const existing = source.destinations.find((d) => d.type === 'http' && d.url === 'relay:' && (!remembered || d.id === remembered));
  let id = existing?.type === 'http' ? existing.id : undefined;
  if (!id) {
    const kept = source.destinations.map((d) => (d.type === 'http' ? { id: d.id } : { app: d.app, eventType: d.eventType }));
    const updated = await client.sources.update(sourceId, { destinations: [...kept, { type: 'relay' }] });
    const added = updated.destinations.find((d) => d.type === 'http' && d.url === 'relay:' && !kept.some((k) => 'id' in k && k.id === d.id));
    if (!added || added.type !== 'http') throw new Error('the source did not keep the relay destination');
    id = added.id;
  }
  memory.set(key, id);
  return { appId: source.appId, endpoint: await client.endpoints.get(source.appId, id) };
}

function report(mode: OutputMode, event: Record<string, unknown>, text: string): void {
  process.stdout.write(mode === 'json' ? `${JSON.stringify(event)}\n` : `${text}\n`);
}

function describe(f: Forwarded): string {
  const r = f.response;
  const outcome = r.status === null ? `✗ ${r.error}` : `${r.status >= 200 && r.status < 300 ? '✓' : '✗'} ${r.status}`;
  return `${new Date().toISOString()}  ${f.message.eventType}  ${f.message.eventId}  attempt ${f.message.attempt}  → ${outcome} (${r.durationMs} ms)`;
}

/** herald listen <local-url> --app <app> | --source <src> */
export function listenCommand(program: Command): void {
  program.command('listen <local-url>')
    .description('receive webhooks on this machine: deliveries of a relay endpoint are replayed against <local-url> (no tunnel, nothing exposed)')
    .option('--app <app>', 'the app (id or uid) whose events to receive')
    .option('--source <src>', 'or an inbound source: its verified requests come here')
    .option('--events <patterns...>', 'event types to subscribe to (e.g. person.* invoice.paid); default all')
    .option('--endpoint <ep>', 'use this relay endpoint (default: the one this machine used last time, else a new one)')
    .option('--allow-external', 'forward to a host other than this machine')
    .action(run(async (localUrl: string, o, cmd: Command) => {
      const target = checkTarget(localUrl, !!o.allowExternal);
      if (!o.app === !o.source) throw new UsageError('give --app <app> or --source <src>');
      const mode = outputMode(cmd);
      const { client, url, apiKey } = connect(cmd);
      const memory = new Remembered(process.env);
      const events = o.events?.flatMap((e: string) => e.split(',')).filter(Boolean);
      const { appId, endpoint } = o.app
        ? { appId: o.app as string, endpoint: await appEndpoint(client, o.app, { endpoint: o.endpoint, events }, memory, `${url} app:${o.app}`) }
        : await sourceEndpoint(client, o.source, memory, `${url} source:${o.source}`);
      // Disabled (a local 410, or too many failures while the handler was broken), it would
      // take no deliveries however long we listened: the developer is here to receive them.
      let enabled = '';
      if (endpoint.status === 'disabled') {
        await client.endpoints.update(appId, endpoint.id, { status: 'active' });
        enabled = `Re-enabled the endpoint (it was disabled: ${endpoint.disabledReason ?? 'manual'}).\n`;
      }
      const { secret } = await client.endpoints.secret(appId, endpoint.id);
      report(mode, { event: 'ready', endpointId: endpoint.id, appId, events: endpoint.events, secret, target, reEnabled: enabled !== '' },
        `${enabled}Relay endpoint ${endpoint.id} (${o.app ? `app ${o.app}` : `source ${o.source}`}), events: ${endpoint.events.join(', ')}\n` +
        `Signing secret: ${secret}\nForwarding to ${target}. Ctrl-C to stop.`);

      const listener = new RelayListener({
        wsUrl: client.endpoints.relayUrl(appId, endpoint.id), apiKey, target,
        onStart: () => report(mode, { event: 'connected' }, `Connected to ${url}; waiting for deliveries…`),
        onForwarded: (f) => report(mode, {
          event: 'delivery', deliveryId: f.message.deliveryId, eventId: f.message.eventId, eventType: f.message.eventType,
          attempt: f.message.attempt, status: f.response.status, error: f.response.error ?? null, durationMs: f.response.durationMs,
        }, describe(f)),
        onDisconnect: (reason, ms) => report(mode, { event: 'disconnected', reason, retryInMs: ms }, `Disconnected (${reason}); reconnecting in ${(ms / 1000).toFixed(1)} s`),
        onRefused: (status, message) => {
          process.stderr.write(`herald: the server refused the relay (HTTP ${status}): ${message}\n`);
          process.exit(1);
        },
      });
      listener.start();
      await new Promise<void>((resolve) => {
        const stop = () => {
          listener.stop();
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }));
}
