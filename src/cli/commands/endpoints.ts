import type { Command } from 'commander';
import type { Endpoint, EndpointPatch } from '../../sdk/client/index.js';
import {
  UsageError, bytesArg, commaList, connect, headerArgs, intArg, listOptions, numArg, objectArg, outputMode, pageQuery, repeatable, run, timeArg,
} from '../context.js';
import { printDone, printList, printOne } from '../output.js';
import { DELIVERY_COLUMNS } from './deliveries.js';

const COLUMNS = ['id', 'type', 'url', 'status', 'events', 'circuitState', 'createdAt'];

/** The settings create and update share. Here --url is the endpoint's; Herald's address comes from HERALD_URL or a --url before the command. */
function settingOptions(cmd: Command): Command {
  return cmd
    .option('--events <patterns>', 'event types it gets: person.*, a.b, * (repeatable or comma-separated; default all)', repeatable)
    .option('--description <text>')
    .option('--header <header>', '\'name: value\' sent with every delivery (repeatable; replaces all headers)', repeatable)
    .option('--rate-limit <n>', 'deliveries per second at most')
    .option('--max-in-flight <n>', 'concurrent requests at most')
    .option('--timeout-ms <n>', 'per-attempt timeout')
    .option('--retry-schedule <seconds>', 'delays before retry 1, 2, … e.g. 5,300,1800; none: no retries; default: the server\'s')
    .option('--metadata <json>', 'JSON object kept with the endpoint (or @file.json)')
    .option('--transform <js>', 'JavaScript defining function transform(webhook), usually @transform.js; "" removes it');
}

function retrySchedule(value: string): number[] | null {
  if (value === 'default') return null;
  if (value === 'none') return [];
  return value.split(',').map((s) => numArg(s, '--retry-schedule'));
}

function settings(o: Record<string, any>): EndpointPatch {
  return {
    url: o.url,
    events: o.events ? commaList(o.events) : undefined,
    description: o.description,
    headers: o.header ? headerArgs(o.header) : undefined,
    rateLimit: o.rateLimit === undefined ? undefined : numArg(o.rateLimit, '--rate-limit'),
    maxInFlight: o.maxInFlight === undefined ? undefined : intArg(o.maxInFlight, '--max-in-flight'),
    timeoutMs: o.timeoutMs === undefined ? undefined : intArg(o.timeoutMs, '--timeout-ms'),
    retrySchedule: o.retrySchedule === undefined ? undefined : retrySchedule(o.retrySchedule),
    metadata: o.metadata ? objectArg(o.metadata, '--metadata') : undefined,
    transform: o.transform === undefined ? undefined : bytesArg(o.transform, '--transform').toString('utf8'),
  };
}

/** herald endpoints list|get|create|update|delete|secret|rotate-secret|test|recover|stats|deliveries */
export function endpointsCommand(program: Command): void {
  const eps = program.command('endpoints').description('endpoints: where an app\'s events are delivered');
  listOptions(eps.command('list <app>').description('list an app\'s endpoints'))
    .option('--status <status>', 'active or disabled')
    .action(run(async (app: string, o, cmd: Command) => {
      // A relay endpoint's type says whether `herald listen` is connected to it.
      const row = (e: Endpoint) => ({ ...e, type: e.relay ? `relay (${e.relay.connected ? 'connected' : 'waiting'})` : e.type });
      await printList(outputMode(cmd), connect(cmd).client.endpoints.list(app, { ...pageQuery(o), status: o.status }), COLUMNS, !!o.all, row);
    }));
  eps.command('get <app> <ep>').description('show an endpoint')
    .action(run(async (app: string, ep: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.endpoints.get(app, ep))));

  settingOptions(eps.command('create <app>').description('add an endpoint; prints its signing secret').option('--url <url>', 'where to POST the deliveries'))
    .option('--relay', 'no URL: deliveries go to a `herald listen` connected to the server')
    .option('--secret <whsec>', 'the signing secret (whsec_ + base64); generated when absent')
    .option('--disabled', 'create it disabled')
    .action(run(async (app: string, o, cmd: Command) => {
      const mode = outputMode(cmd);
      if (!o.url === !o.relay) throw new UsageError('give either --url <url> or --relay');
      const { secret, ...endpoint } = await connect(cmd).client.endpoints.create(app, {
        ...settings(o), type: o.relay ? 'relay' : undefined, secret: o.secret, status: o.disabled ? 'disabled' : undefined,
      });
      if (mode === 'json') return printOne(mode, { ...endpoint, secret });
      printOne(mode, endpoint);
      const again = `herald endpoints secret ${app} ${endpoint.id}`;
      process.stdout.write(`\nSigning secret, shown once (give it to the receiver; \`${again}\` fetches it again):\n\n  ${secret}\n\n`);
    }));
  settingOptions(eps.command('update <app> <ep>').description('change an endpoint (options not given stay as they are)').option('--url <url>', 'where to POST the deliveries'))
    .option('--enable', 'activate it (resumes its pending deliveries)').option('--disable', 'stop delivering to it (deliveries wait)')
    .action(run(async (app: string, ep: string, o, cmd: Command) => {
      if (o.enable && o.disable) throw new UsageError('--enable and --disable exclude each other');
      const patch: EndpointPatch = { ...settings(o), status: o.enable ? 'active' : o.disable ? 'disabled' : undefined };
      printOne(outputMode(cmd), await connect(cmd).client.endpoints.update(app, ep, patch));
    }));
  eps.command('delete <app> <ep>').description('delete an endpoint and its deliveries')
    .action(run(async (app: string, ep: string, _o, cmd: Command) => {
      await connect(cmd).client.endpoints.delete(app, ep);
      printDone(outputMode(cmd), { deleted: ep }, `deleted endpoint ${ep}`);
    }));

  eps.command('secret <app> <ep>').description('show the signing secret')
    .action(run(async (app: string, ep: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.endpoints.secret(app, ep))));
  eps.command('rotate-secret <app> <ep>').description('replace the signing secret; the old one keeps signing for the grace period')
    .option('--grace-seconds <n>', 'how long the old secret keeps signing (default 86400; 0 revokes it now)')
    .option('--secret <whsec>', 'the new secret; generated when absent')
    .action(run(async (app: string, ep: string, o, cmd: Command) => {
      const graceSeconds = o.graceSeconds === undefined ? undefined : intArg(o.graceSeconds, '--grace-seconds');
      printOne(outputMode(cmd), await connect(cmd).client.endpoints.rotateSecret(app, ep, { secret: o.secret, graceSeconds }));
    }));
  eps.command('test <app> <ep>').description('send a webhook.test event to this endpoint only')
    .action(run(async (app: string, ep: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.endpoints.test(app, ep))));
  eps.command('recover <app> <ep>').description('send again every failed delivery created in a time window')
    .requiredOption('--since <time>', 'start: 24h, 30m (ago) or an ISO time').option('--until <time>', 'end (default now)')
    .action(run(async (app: string, ep: string, o, cmd: Command) => {
      const window = { since: timeArg(o.since, '--since'), until: o.until ? timeArg(o.until, '--until') : undefined };
      printOne(outputMode(cmd), await connect(cmd).client.endpoints.recover(app, ep, window));
    }));
  eps.command('stats <app> <ep>').description('totals, success rate, response times, recent failures')
    .action(run(async (app: string, ep: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.endpoints.stats(app, ep))));
  listOptions(eps.command('deliveries <app> <ep>').description('the endpoint\'s delivery log, newest first'))
    .option('--status <status>', 'pending, success or failed').option('--event <id>', 'of this event').option('--type <type>', 'of this event type')
    .action(run(async (app: string, ep: string, o, cmd: Command) => {
      const list = connect(cmd).client.endpoints.deliveries(app, ep, { ...pageQuery(o), status: o.status, eventId: o.event, eventType: o.type });
      await printList(outputMode(cmd), list, DELIVERY_COLUMNS, !!o.all);
    }));
}
