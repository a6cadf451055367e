import type { Logger } from 'pino';
import type { AttemptOutcome, ClaimedDelivery, HealthChange, HealthPolicy, Store } from '../store/types.js';

export interface Pending {
  delivery: ClaimedDelivery;
  outcome: AttemptOutcome;
}

/**
 * Attempt results are written in batches: one transaction per `batchSize` outcomes or per
 * `intervalMs`, whichever comes first (group commit). Flushes are chained so they never
 * overlap; `onFlushed` sees each written batch with the health changes it caused.
 */
export class OutcomeWriter {
  private buffer: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly policy: HealthPolicy,
    private readonly batchSize: number,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly onFlushed: (batch: Pending[], changes: HealthChange[]) => void,
  ) {}

  add(delivery: ClaimedDelivery, outcome: AttemptOutcome): void {
    this.buffer.push({ delivery, outcome });
    if (this.buffer.length >= this.batchSize) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.intervalMs);
  }

  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    if (batch.length === 0) return this.chain;
    this.buffer = [];
    // Transform outputs first: once an outcome is recorded a retry may be claimed, and it must
    // find the output its first attempt sent.
    const transformed = batch.flatMap((p) => (p.outcome.transformed ? [{ deliveryId: p.delivery.id, request: p.outcome.transformed }] : []));
    this.chain = this.chain
      .then(() => (transformed.length > 0 ? this.store.saveTransformed(transformed) : undefined))
      .then(() => this.store.recordOutcomes(batch.map((p) => p.outcome), Date.now(), this.policy))
      .then((changes) => this.onFlushed(batch, changes))
      .catch((err) => this.failed(batch, err));
    return this.chain;
  }

  /**
   * A database that is only busy (SQLite locked by another process) takes the results a
   * second later. Any other failure hands the deliveries back to be sent again: a lease on a
   * single-process backend would otherwise never run out.
   */
  private async failed(batch: Pending[], err: unknown): Promise<void> {
    if ((err as { code?: string }).code === 'storage_unavailable') {
      this.logger.warn({ count: batch.length }, 'database busy; writing attempt results again in 1 s');
      this.buffer = [...batch, ...this.buffer];
      if (!this.timer) this.timer = setTimeout(() => void this.flush(), 1000);
      return;
    }
    this.logger.error({ err, count: batch.length }, 'writing attempt results failed; the deliveries will be sent again');
    await this.store.releaseClaims(batch.map((p) => ({ id: p.delivery.id, at: Date.now() })))
      .catch((e) => this.logger.error({ err: e }, 'handing deliveries back failed; their leases end with the process'));
  }
}
