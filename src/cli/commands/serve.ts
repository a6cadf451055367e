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

/**
 * What a person starting Herald needs: where it listens, and where the API key is (every
 * start, not only the first). One write, so no log line lands in the middle of it.
 */
function banner(config: HeraldConfig, url: string | null, key: { value: string; generated: boolean; file?: string }): void {
  const lines: string[] = [];
  if (config.dev) {
    lines.push('', '!!! HERALD_DEV is ON: http:// and private/loopback endpoint URLs are allowed. Never run like this in production. !!!', '');
  }
  const db = config.databaseUrl.split('?')[0].replace(/\/\/[^@]*@/, '//');
  lines.push(url ? `Herald ${VERSION} listening on ${url} (${db})` : `Herald ${VERSION} worker running (${db})`);
  if (url) lines.push(`Dashboard: ${url}/ui/ (sign in with the API key)`);
  if (url && key.generated) {
    lines.push('', `Generated an API key and stored it in ${key.file} (shown once):`, '', `  ${key.value}`, '');
    lines.push('Try it:', '', `  curl -s -X POST ${url}/v1/apps \\`, `    -H "Authorization: Bearer ${key.value}" \\`,
      `    -H "content-type: application/json" -d '{"name":"Acme"}'`, '');
  } else if (url) {
    lines.push(`API key: ${key.file ? `in ${key.file}` : 'HERALD_API_KEY'} (send it as Authorization: Bearer <key>; \`herald apps list\` finds it)`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function serve(overrides: ConfigOverrides): Promise<void> {
  const { createHerald } = await import('../../server.js');
  const loaded = configFrom(overrides);
  const config = { ...loaded, encryptionKey: resolveEncryptionKey(loaded) };
  const key = resolveApiKey(config);
  const herald = await createHerald(config, { apiKey: key.value }).catch((err: unknown) => {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`herald: configuration error: ${err.message}\n`);
    process.exit(2);
  });
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
  // A cold process hit at full rate from its first second falls behind: warm it first (warmup.ts).
  const warm = config.warmupEvents > 0 ? await import('../../warmup.js') : null;
  await warm?.warmUp(config, { ...warm.WARMUP_DEFAULTS, events: config.warmupEvents }).catch((err: unknown) => {
    process.stderr.write(`herald: warm-up skipped: ${(err as Error).message}\n`);
  });
  const url = await herald.start();
  if (url && warm) {
    await warm.warmListener(url, key.value, config.warmupEvents).catch((err: unknown) => {
      if (!stopping) process.stderr.write(`herald: warm-up skipped: ${(err as Error).message}\n`);
    });
  }
  banner(config, url, key);
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
      const store = await openStore(config.databaseUrl, { checkKey: false });
      await store.close();
      process.stdout.write(`herald: migrations applied (${config.databaseUrl.split(':')[0]})\n`);
    });
}
