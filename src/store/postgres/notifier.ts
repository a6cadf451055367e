import pg from 'pg';

/**
 * LISTEN on one dedicated connection per store (a pooled one would lose its LISTEN when handed
 * back; one per purpose would cost each process more of the server's connections):
 * herald_wake (work for the workers) and herald_config (apps or event types changed).
 * Notifications name the schema they were sent for; others are ignored.
 *
 * If the connection drops, `lost` is called, it reconnects after 1 s, then 2, 4… up to 30 s,
 * and calls `back` once it is: notifications sent while it was away are lost, so the worker
 * should look for work (and a cache start over). Meanwhile the worker's own polling (at most
 * a second idle) keeps things moving.
 */
export type Channel = 'herald_wake' | 'herald_config';

export async function listen(
  connectionString: string, schema: string, channels: readonly Channel[],
  on: { notify: (channel: Channel) => void; lost?: () => void; back?: () => void },
): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | null = null;
  let delayMs = 1000;

  const connect = async (): Promise<void> => {
    // Named after the schema, so it can be told apart in pg_stat_activity.
    const c = new pg.Client({ connectionString, application_name: `herald-listen:${schema}` });
    c.on('notification', (msg) => {
      if (msg.payload === schema) on.notify(msg.channel as Channel);
    });
    c.on('error', () => lost(c));
    c.on('end', () => lost(c));
    try {
      await c.connect();
      for (const channel of channels) await c.query(`LISTEN ${channel}`);
    } catch (err) {
      c.end().catch(() => undefined);
      throw err;
    }
    client = c;
    delayMs = 1000;
  };

  const lost = (c: pg.Client): void => {
    if (stopped || client !== c) return;
    client = null;
    on.lost?.();
    c.end().catch(() => undefined);
    schedule();
  };

  const schedule = (): void => {
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (stopped) return;
      connect().then(
        () => (stopped ? client?.end().catch(() => undefined) : on.back?.()),
        () => {
          delayMs = Math.min(delayMs * 2, 30_000);
          schedule();
        },
      );
    }, delayMs);
    retryTimer.unref();
  };

  await connect();
  return async () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    const c = client;
    client = null;
    if (c) await c.end().catch(() => undefined);
  };
}
