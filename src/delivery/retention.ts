import type { Logger } from 'pino';
import type { Store } from '../store/types.js';

/**
 * HERALD_RETENTION_DAYS: every `everyMs`, deletes events (with their deliveries and attempts)
 * older than the retention whose deliveries are all finished, and sources' request-log rows
 * older than it, in batches of `batch` rows,
 * each its own short transaction, yielding between batches so delivery never waits long.
 */
export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly days: number,
    private readonly logger: Logger,
    private readonly options: { everyMs?: number; batch?: number } = {},
  ) {}

  start(): void {
    if (this.days <= 0 || this.timer) return;
    const every = this.options.everyMs ?? 60_000;
    this.timer = setInterval(() => void this.runOnce(), every);
    this.timer.unref();
    setTimeout(() => void this.runOnce(), Math.min(every, 5000)).unref();
  }

  /** Prunes until nothing is left to prune; returns how many events it deleted. */
  runOnce(now = Date.now()): Promise<void> {
    this.running ??= (async () => {
      const before = now - this.days * 86_400_000;
      const batch = this.options.batch ?? 1000;
      let total = 0;
      try {
        for (;;) {
          const n = await this.store.prune(before, batch);
          total += n;
          if (n < batch) break;
          await new Promise((r) => setImmediate(r));
        }
        // Sources' request logs (and expired dedup keys) age out the same way.
        for (;;) {
          const n = await this.store.pruneInbound(now, before, batch);
          if (n < batch) break;
          await new Promise((r) => setImmediate(r));
        }
        if (total > 0) this.logger.info({ deleted: total, before: new Date(before).toISOString() }, 'retention pruned old events');
      } catch (err) {
        this.logger.error({ err }, 'retention pruning failed');
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
