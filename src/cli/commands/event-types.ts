import type { Command } from 'commander';
import { connect, listOptions, objectArg, outputMode, pageQuery, run } from '../context.js';
import { printList, printOne } from '../output.js';

const COLUMNS = ['name', 'description', 'archived', 'createdAt'];

/** herald event-types list|get|create|update|archive */
export function eventTypesCommand(program: Command): void {
  const types = program.command('event-types').description('event types: the catalogue, optionally with a JSON Schema for data');
  listOptions(types.command('list').description('list event types'))
    .option('--include-archived', 'archived ones too')
    .action(run(async (o, cmd: Command) => {
      const list = connect(cmd).client.eventTypes.list({ ...pageQuery(o), includeArchived: o.includeArchived ? true : undefined });
      await printList(outputMode(cmd), list, COLUMNS, !!o.all);
    }));
  types.command('get <name>').description('show an event type')
    .action(run(async (name: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.eventTypes.get(name))));
  types.command('create').description('create an event type')
    .requiredOption('--name <name>', 'e.g. person.created').option('--description <text>')
    .option('--schema <json>', 'JSON Schema that published data must match (or @file.json)')
    .action(run(async (o, cmd: Command) => {
      const body = { name: o.name, description: o.description, schema: o.schema ? objectArg(o.schema, '--schema') : undefined };
      printOne(outputMode(cmd), await connect(cmd).client.eventTypes.create(body));
    }));
  types.command('update <name>').description('change an event type\'s description or schema, or bring an archived one back')
    .option('--description <text>').option('--schema <json>', 'JSON Schema (or @file.json)').option('--unarchive', 'list it again')
    .action(run(async (name: string, o, cmd: Command) => {
      const patch = { description: o.description, schema: o.schema ? objectArg(o.schema, '--schema') : undefined, archived: o.unarchive ? false : undefined };
      printOne(outputMode(cmd), await connect(cmd).client.eventTypes.update(name, patch));
    }));
  types.command('archive <name>').description('hide an event type from the list (existing events keep it)')
    .action(run(async (name: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.eventTypes.archive(name))));
}
