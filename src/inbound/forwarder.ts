import type { Logger } from 'pino';
import type { Publisher } from '../publish/publisher.js';
import { jsonProblem, MAX_JSON_DEPTH } from '../core/json.js';
import { HeraldError } from '../errors.js';
import type { AppForward, Source } from '../store/inbound.js';
import type { Store } from '../store/types.js';
import { routeKey } from './routing.js';
import { RequestView } from './selectors.js';

export interface ForwarderOptions {
  store: Store;
  publisher: Publisher;
  logger: Logger;
  /** a released request made deliveries due: wake the delivery worker */
  notifyWorker: () => void;
  /** how often gaps and the outbox are looked at when nothing nudges it */
  intervalMs?: number;
}

/**
 * The gateway's background half, run beside the delivery worker:
 * - sequence gaps that waited `gapTimeoutSeconds` are given up on, releasing what waited;
 * - released requests are published into their source's app destinations (an outbox: the
 *   release committed the mark, the event id is the request id, so a crash in between
 *   publishes again and the repeat is recognised as the same event);
 * - expired dedup keys are forgotten.
 */
export class InboundForwarder {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private lastPrune = 0;

  constructor(private readonly o: ForwarderOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.o.intervalMs ?? 250);
    this.timer.unref();
    this.kick();
  }

  /** Look now (a request for a source with app destinations was accepted). */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.tick()
      .catch((err) => this.o.logger.error({ err }, 'inbound forwarding failed; retrying'))
      .finally(() => {
        this.running = null;
        if (this.again && this.timer) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; exposed for tests. */
  async tick(now = Date.now()): Promise<void> {
    let released = 0;
    for (let n = -1; n !== 0; ) released += n = await this.o.store.releaseGaps(now, 100);
    if (released > 0) this.o.notifyWorker();
    for (;;) {
      const batch = await this.o.store.pendingAppForwards(100);
      if (batch.length === 0) break;
      await this.publish(batch);
      if (batch.length < 100) break;
    }
    if (now - this.lastPrune > 60_000) {
      this.lastPrune = now;
      for (let n = -1; n !== 0; ) n = await this.o.store.pruneInbound(now, null, 1000);
    }
  }

  private async publish(batch: AppForward[]): Promise<void> {
    const sources = new Map<string, Source | null>();
    const errors: Record<string, string> = {};
    for (const f of batch) {
      if (!sources.has(f.sourceId)) sources.set(f.sourceId, await this.o.store.getSource(f.sourceId));
      const source = sources.get(f.sourceId);
      if (!source) continue;
      const view = new RequestView(f.headers, f.body, f.contentType);
      const problems: string[] = [];
      const routes = f.routes === null ? null : new Set(f.routes);
      for (const d of source.destinations) {
        // Only those whose filters matched when the request came (see routing.ts).
        if (d.type !== 'app' || (routes && !routes.has(routeKey(d)))) continue;
        try {
          const app = await this.o.store.getApp(d.app);
          if (!app) throw new HeraldError('not_found', `app '${d.app}' not found`);
          const parsed = view.json();
          const data = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
            ? (parsed as Record<string, unknown>)
            : { body: f.body.toString('utf8'), contentType: f.contentType };
          // The API's parser refuses deeper bodies; a provider's request was taken as raw bytes.
          if (jsonProblem(data)) throw new HeraldError('payload_too_deep', `the request nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`, { maxDepth: MAX_JSON_DEPTH });
          const type = d.eventType.includes(':') ? view.select(d.eventType) : d.eventType;
          await this.o.publisher.publish(app, [{
            id: f.requestId, type: type ?? 'webhook.received', data, timestamp: new Date(f.receivedAt).toISOString(),
            orderingKey: f.orderingKey ?? undefined,
          }]);
        } catch (err) {
          // What can never succeed (no such app, schema mismatch) is recorded on the request;
          // anything else (the database) leaves it in the outbox for the next pass.
          if (!(err instanceof HeraldError) || err.status >= 500) throw err;
          problems.push(`${d.app}: ${err.message}`);
        }
      }
      if (problems.length > 0) errors[f.requestId] = problems.join('; ');
    }
    await this.o.store.finishAppForwards(batch, errors);
  }
}
