import type { Command } from 'commander';
import { connect, jsonArg, listOptions, outputMode, pageQuery, run } from '../context.js';
import { printList, printOne } from '../output.js';

const COLUMNS = ['id', 'uid', 'name', 'createdAt'];

/** herald apps list|get|create|update|delete */
export function appsCommand(program: Command): void {
  const apps = program.command('apps').description('apps: one per customer of your product');
  listOptions(apps.command('list').description('list apps'))
    .action(run(async (o, cmd: Command) => {
      await printList(outputMode(cmd), connect(cmd).client.apps.list(pageQuery(o)), COLUMNS, !!o.all);
    }));
  apps.command('get <app>').description('show an app (by id or uid)')
    .action(run(async (app: string, _o, cmd: Command) => printOne(outputMode(cmd), await connect(cmd).client.apps.get(app))));
  apps.command('create').description('create an app')
    .requiredOption('--name <name>', 'display name').option('--uid <uid>', 'your own id for it (e.g. the customer id)')
    .option('--metadata <json>', 'JSON object kept with the app (or @file.json)')
    .action(run(async (o, cmd: Command) => {
      const app = await connect(cmd).client.apps.create({
        name: o.name, uid: o.uid, metadata: o.metadata ? (jsonArg(o.metadata, '--metadata') as Record<string, unknown>) : undefined,
      });
      printOne(outputMode(cmd), app);
    }));
  apps.command('update <app>').description('change an app\'s name, uid or metadata')
    .option('--name <name>').option('--uid <uid>').option('--metadata <json>', 'JSON object (or @file.json)')
    .action(run(async (app: string, o, cmd: Command) => {
      const patch = { name: o.name, uid: o.uid, metadata: o.metadata ? (jsonArg(o.metadata, '--metadata') as Record<string, unknown>) : undefined };
      printOne(outputMode(cmd), await connect(cmd).client.apps.update(app, patch));
    }));
  apps.command('delete <app>').description('delete an app with its endpoints, events and deliveries')
    .action(run(async (app: string, _o, cmd: Command) => {
      await connect(cmd).client.apps.delete(app);
      if (outputMode(cmd) === 'json') printOne('json', { deleted: app });
      else process.stdout.write(`deleted app ${app}\n`);
    }));
}
