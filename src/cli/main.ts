#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { addClientOptions } from './context.js';
import { appsCommand } from './commands/apps.js';
import { deliveriesCommand } from './commands/deliveries.js';
import { endpointsCommand } from './commands/endpoints.js';
import { eventTypesCommand } from './commands/event-types.js';
import { eventsCommand } from './commands/events.js';
import { listenCommand } from './commands/listen.js';
import { serverCommands } from './commands/serve.js';
import { signCommand } from './commands/sign.js';
import { sourcesCommand } from './commands/sources.js';

const program = new Command()
  .name('herald')
  .description('Self-hostable webhook platform')
  .version(VERSION)
  // For the commands that talk to a running Herald (everything but serve, worker, migrate);
  // each of them takes these after its name too.
  .option('--url <url>', 'Herald\'s address (HERALD_URL, default http://127.0.0.1:8400)')
  .option('--api-key <key>', 'API key (HERALD_API_KEY, default: ./data/api-key of a local server)')
  .option('-o, --output <mode>', 'table (for people, the default) or json (for scripts; lists print one object per line)')
  // Each command reads only its own options (and these, given before it): see addClientOptions.
  .enablePositionalOptions()
  // Usage errors (unknown option, missing argument) exit 2; help and --version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

serverCommands(program);
appsCommand(program);
listenCommand(program);
eventTypesCommand(program);
endpointsCommand(program);
eventsCommand(program);
deliveriesCommand(program);
sourcesCommand(program);
signCommand(program);
addClientOptions(program, { skip: ['serve', 'worker', 'migrate'], outputOnly: ['sign', 'verify'] });

program.parseAsync().catch((err) => {
  process.stderr.write(`herald: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
