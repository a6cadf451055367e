import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { loadConfig, type ConfigOverrides, type HeraldConfig } from '../../config.js';
import { VERSION } from '../../version.js';
import { resolveApiKey, resolveEncryptionKey } from '../keys.js';

// The server code (Fastify, the stores, the worker) is loaded only by these commands, so the
// client commands start in a tenth of the time.

function configFrom(opts: ConfigOverrides): HeraldConfig {
  try {
    return loadConfig(process.env, opts);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`herald: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

function banner(config: HeraldConfig, url: string | null, key: { value: string; generated: boolean; file?: string }): void {
  const out = process.stdout;
  if (config.dev) {
    out.write('\n!!! HERALD_DEV is ON: http:// and private/loopback endpoint URLs are allowed. Never run like this in production. !!!\n\n');
  }
  if (url) out.write(`Herald ${VERSION} listening on ${url} (${config.databaseUrl.split('?')[0].replace(/\/\/[^@]*@/, '//')})\n`);
  if (key.generated) {
    out.write(`\nGenerated an API key and stored it in ${key.file} (shown once):\n\n  ${key.value}\n\n`);
    out.write(`Try it:\n\n  curl -s -X POST ${url ?? 'http://127.0.0.1:8400'}/v1/apps \\\n    -H "Authorization: Bearer ${key.value}" \\\n    -H "content-type: application/json" -d '{"name":"Acme"}'\n\n`);
  }
}

async function serve(overrides: ConfigOverrides): Promise<void> {
  const { createHerald } = await import('../../server.js');
  const loaded = configFrom(overrides);
  const config = { ...loaded, encryptionKey: resolveEncryptionKey(loaded) };
  const key = resolveApiKey(config);
  const herald = await createHerald(config, { apiKey: key.value });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`herald: ${signal} received, finishing in-flight deliveries…\n`);
    await herald.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const url = await herald.start();
  banner(config, url, key);
  if (!url) process.stdout.write(`Herald ${VERSION} worker running\n`);
}

/** herald serve | worker | migrate */
export function serverCommands(program: Command): void {
  program
    .command('serve')
    .description('run the API and the delivery worker')
    .option('-p, --port <port>', 'port to listen on (HERALD_PORT, default 8400)')
    .option('--host <host>', 'address to bind (HERALD_HOST, default 127.0.0.1)')
    .option('--db <url>', 'database URL (HERALD_DATABASE_URL, default sqlite:./data/herald.db)')
    .option('--dev', 'allow http:// and private/loopback endpoint URLs (HERALD_DEV=1)')
    .option('--api-only', 'serve the API without delivering')
    .action((o) => serve({ port: o.port, host: o.host, db: o.db, dev: o.dev, apiOnly: o.apiOnly }));

  program
    .command('worker')
    .description('run the delivery worker only')
    .option('--db <url>', 'database URL (HERALD_DATABASE_URL)')
    .option('--dev', 'allow http:// and private/loopback endpoint URLs')
    .action((o) => serve({ db: o.db, dev: o.dev, workerOnly: true }));

  program
    .command('migrate')
    .description('apply database migrations and exit')
    .option('--db <url>', 'database URL (HERALD_DATABASE_URL)')
    .action(async (o) => {
      const config = configFrom({ db: o.db });
      const { openStore } = await import('../../store/index.js');
      const store = await openStore(config.databaseUrl);
      await store.close();
      process.stdout.write(`herald: migrations applied (${config.databaseUrl.split(':')[0]})\n`);
    });
}
