import type { Command } from 'commander';
import { connect, listOptions, outputMode, pageQuery, run } from '../context.js';
import { printList, printOne, table } from '../output.js';

export const DELIVERY_COLUMNS = ['id', 'status', 'eventType', 'endpointId', 'attemptCount', 'lastStatusCode', 'createdAt'];
export const ATTEMPT_COLUMNS = ['number', 'startedAt', 'durationMs', 'statusCode', 'error'];

/** herald deliveries list|get|retry */
export function deliveriesCommand(program: Command): void {
  const dl = program.command('deliveries').description('the delivery log: one delivery per event and endpoint, with every attempt');
  listOptions(dl.command('list <app>').description('an app\'s deliveries, newest first'))
    .option('--status <status>', 'pending, success or failed').option('--endpoint <ep>', 'to this endpoint')
    .option('--event <id>', 'of this event').option('--type <type>', 'of this event type')
    .action(run(async (app: string, o, cmd: Command) => {
      const query = { ...pageQuery(o), status: o.status, endpointId: o.endpoint, eventId: o.event, eventType: o.type };
      await printList(outputMode(cmd), connect(cmd).client.deliveries.list(app, query), DELIVERY_COLUMNS, !!o.all);
    }));
  dl.command('get <app> <id>').description('show a delivery with its attempts')
    .action(run(async (app: string, id: string, _o, cmd: Command) => {
      const mode = outputMode(cmd);
      const { attempts, ...delivery } = await connect(cmd).client.deliveries.get(app, id);
      if (mode === 'json') return printOne(mode, { ...delivery, attempts });
      printOne(mode, delivery);
      process.stdout.write(`\nattempts:\n${attempts.length ? table(attempts, ATTEMPT_COLUMNS) : '(none)\n'}`);
    }));
  dl.command('retry <app> <id>').description('attempt it now; a finished delivery gets exactly one more attempt')
    .action(run(async (app: string, id: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.deliveries.retry(app, id))));
}
