import type { Command } from 'commander';
import type { EventIn } from '../../sdk/client/index.js';
import { UsageError, connect, jsonArg, listOptions, objectArg, outputMode, pageQuery, run } from '../context.js';
import { printList, printOne, printRows } from '../output.js';

const COLUMNS = ['id', 'type', 'sequence', 'orderingKey', 'timestamp'];
const PUBLISHED_COLUMNS = ['id', 'type', 'sequence', 'deliveries', 'duplicate'];

/** herald events publish|publish-batch|list|get */
export function eventsCommand(program: Command): void {
  const events = program.command('events').description('publish events and read an app\'s event feed');
  events.command('publish <app>').description('publish an event to an app\'s subscribed endpoints')
    .requiredOption('--type <type>', 'event type, e.g. person.created')
    .option('--data <json>', 'the payload, a JSON object (or @file.json, @- for stdin)')
    .option('--payload <json>', 'instead of --data: the exact JSON body receivers get, no envelope (or @file.json)')
    .option('--fields <json>', "values of the app's envelopeProfile.extra fields, a JSON object")
    .option('--id <id>', 'your id for the event: publishing it again returns the original')
    .option('--ordering-key <key>', 'events with the same key reach each endpoint one at a time, in order')
    .option('--idempotency-key <key>', 'makes the publish safe to repeat (generated when absent)')
    .action(run(async (app: string, o, cmd: Command) => {
      if ((o.data === undefined) === (o.payload === undefined)) throw new UsageError('give either --data <json> or --payload <json>');
      const event: EventIn = {
        type: o.type, id: o.id, orderingKey: o.orderingKey,
        ...(o.data !== undefined ? { data: objectArg(o.data, '--data') } : { payload: jsonArg(o.payload, '--payload') as EventIn['payload'] }),
        ...(o.fields !== undefined ? { fields: objectArg(o.fields, '--fields') } : {}),
      };
      printOne(outputMode(cmd), await connect(cmd).client.events.publish(app, event, { idempotencyKey: o.idempotencyKey }));
    }));
  events.command('publish-batch <app>').description('publish up to 1,000 events in one transaction')
    .requiredOption('--file <path>', 'a JSON array of {type, data, id?, orderingKey?} or {"events": [...]} (- for stdin)')
    .option('--idempotency-key <key>', 'makes the publish safe to repeat (generated when absent)')
    .action(run(async (app: string, o, cmd: Command) => {
      // --file names a file (a leading @ as in --data is tolerated)
      const parsed = jsonArg(`@${o.file.replace(/^@/, '')}`, '--file') as { events?: unknown } | unknown[];
      const list = Array.isArray(parsed) ? parsed : parsed?.events;
      if (!Array.isArray(list)) throw new UsageError('--file must hold a JSON array of events or {"events": [...]}');
      const published = await connect(cmd).client.events.publishBatch(app, list as EventIn[], { idempotencyKey: o.idempotencyKey });
      printRows(outputMode(cmd), published.data, PUBLISHED_COLUMNS);
    }));
  listOptions(events.command('list <app>').description('an app\'s events in sequence order'))
    .option('--type <type>', 'of this event type')
    .action(run(async (app: string, o, cmd: Command) => {
      await printList(outputMode(cmd), connect(cmd).client.events.list(app, { ...pageQuery(o), type: o.type }), COLUMNS, !!o.all);
    }));
  events.command('get <app> <id>').description('show an event with its data')
    .action(run(async (app: string, id: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.events.get(app, id))));
}
