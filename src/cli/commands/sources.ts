import type { Command } from 'commander';
import type { SourceCreate, SourcePatch } from '../../sdk/client/index.js';
import { UsageError, connect, listOptions, objectArg, outputMode, pageQuery, repeatable, run, timeArg } from '../context.js';
import { printDone, printList, printOne, table } from '../output.js';
import { DELIVERY_COLUMNS } from './deliveries.js';

const COLUMNS = ['id', 'name', 'ingestUrl', 'createdAt'];
const REQUEST_COLUMNS = ['id', 'status', 'reason', 'forwarding', 'bodySize', 'receivedAt'];

/** --data's object with the convenience flags laid over it. */
function sourceBody(o: Record<string, any>): Record<string, unknown> {
  const body = o.data ? objectArg(o.data, '--data') : {};
  if (o.name !== undefined) body.name = o.name;
  if (o.scheme !== undefined || o.secret !== undefined) {
    body.verification = { ...(body.verification as object), ...(o.scheme !== undefined && { scheme: o.scheme }), ...(o.secret && { secrets: o.secret }) };
  }
  if (o.forward) body.destinations = [...(Array.isArray(body.destinations) ? body.destinations : []), ...o.forward.map((url: string) => ({ url }))];
  return body;
}

/** herald sources list|get|create|update|delete|requests|request|body|replay */
export function sourcesCommand(program: Command): void {
  const src = program.command('sources').description('the inbound gateway: sources, their request log, replay');
  listOptions(src.command('list').description('list sources'))
    .action(run(async (o, cmd: Command) => printList(outputMode(cmd), connect(cmd).client.sources.list(pageQuery(o)), COLUMNS, !!o.all)));
  src.command('get <src>').description('show a source')
    .action(run(async (id: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.sources.get(id))));
  src.command('create').description('create a source from a JSON body (see docs/inbound.md) and/or the flags below')
    .option('--data <json>', 'the source as JSON: {name, verification, destinations, dedup?, ordering?, …} (or @file.json)')
    .option('--name <name>').option('--scheme <scheme>', 'verification scheme: standard, legacy, github, stripe, slack, shopify, hmac, none')
    .option('--secret <secret>', 'verification secret (repeatable: any of them verifies)', repeatable)
    .option('--forward <url>', 'an HTTP destination (repeatable; added to --data\'s)', repeatable)
    .action(run(async (o, cmd: Command) => {
      const mode = outputMode(cmd);
      const source = await connect(cmd).client.sources.create(sourceBody(o) as SourceCreate);
      printOne(mode, source);
      const secrets = source.destinations.flatMap((d) => (d.type === 'http' && d.secret ? [{ id: d.id, url: d.url, secret: d.secret }] : []));
      if (mode === 'table' && secrets.length) process.stdout.write(`\nDestination signing secrets, shown once:\n${table(secrets, ['id', 'url', 'secret'])}`);
    }));
  src.command('update <src>').description('change a source; top-level fields given replace the old ones (destinations: keep one by its id)')
    .option('--data <json>', 'the fields to change as JSON (or @file.json)').option('--name <name>')
    .action(run(async (id: string, o, cmd: Command) => {
      printOne(outputMode(cmd), await connect(cmd).client.sources.update(id, sourceBody(o) as SourcePatch));
    }));
  src.command('delete <src>').description('delete a source and its request log')
    .action(run(async (id: string, _o, cmd: Command) => {
      await connect(cmd).client.sources.delete(id);
      printDone(outputMode(cmd), { deleted: id }, `deleted source ${id}`);
    }));

  listOptions(src.command('requests <src>').description('the request log, newest first'))
    .option('--status <status>', 'accepted, rejected, duplicate or stale')
    .action(run(async (id: string, o, cmd: Command) => {
      await printList(outputMode(cmd), connect(cmd).client.sources.requests(id, { ...pageQuery(o), status: o.status }), REQUEST_COLUMNS, !!o.all);
    }));
  src.command('request <src> <req>').description('show a request with its deliveries')
    .action(run(async (id: string, req: string, _o, cmd: Command) => {
      const mode = outputMode(cmd);
      const { deliveryLog, ...request } = await connect(cmd).client.sources.request(id, req);
      if (mode === 'json') return printOne(mode, { ...request, deliveryLog });
      printOne(mode, request);
      process.stdout.write(`\ndeliveries:\n${deliveryLog.length ? table(deliveryLog, DELIVERY_COLUMNS) : '(none)\n'}`);
    }));
  src.command('body <src> <req>').description('write the request\'s body to stdout, byte for byte')
    .action(run(async (id: string, req: string, _o, cmd: Command) => {
      const { body } = await connect(cmd).client.sources.requestBody(id, req);
      process.stdout.write(body);
    }));
  src.command('replay <src> [req]').description('forward one request again, or (with --since) every one of a time window')
    .option('--since <time>', 'window start: 1h, 30m (ago) or an ISO time').option('--until <time>', 'window end (default now)')
    .option('--status <status>', 'replay deliveries that ended failed (default) or success')
    .action(run(async (id: string, req: string | undefined, o, cmd: Command) => {
      if (req !== undefined && (o.since || o.until || o.status)) throw new UsageError('give a request id or --since/--until/--status, not both');
      if (req === undefined && !o.since) throw new UsageError('give a request id, or --since for a time window');
      const { client } = connect(cmd);
      const result = req !== undefined
        ? await client.sources.replayRequest(id, req)
        : await client.sources.replay(id, { since: timeArg(o.since, '--since'), until: o.until ? timeArg(o.until, '--until') : undefined, status: o.status });
      printOne(outputMode(cmd), result);
    }));
}
