import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one Herald instance (own registry, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();
  readonly deliveries = new Counter({
    name: 'herald_deliveries_total',
    help: 'Delivery attempts by outcome: success, retry (failed, will retry), failed (failed for good)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly attemptDuration = new Histogram({
    name: 'herald_attempt_duration_seconds',
    help: 'Duration of outbound delivery attempts',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: 'herald_events_published_total',
    help: 'Events accepted by the API (duplicates and webhook.test events not counted)',
    registers: [this.registry],
  });
  readonly inboundRequests = new Counter({
    name: 'herald_inbound_requests_total',
    help: 'Requests received by sources, by outcome: accepted, duplicate, stale, rejected, rate_limited',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly inboundAck = new Histogram({
    name: 'herald_inbound_ack_seconds',
    help: 'Time from receiving a verified inbound request to having committed it (what the provider waits for, less the network)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly queueDepth: Gauge;
  // Labelled children looked up once: label hashing on every attempt shows in profiles.
  private readonly outcomes = new Map<string, ReturnType<Counter<'outcome'>['labels']>>();

  outcome(name: 'success' | 'retry' | 'failed'): ReturnType<Counter<'outcome'>['labels']> {
    let c = this.outcomes.get(name);
    if (!c) {
      c = this.deliveries.labels(name);
      this.outcomes.set(name, c);
    }
    return c;
  }

  constructor(queueDepth: () => Promise<number>) {
    // Process CPU, memory, event-loop lag, GC and handles: what an operator looks at first.
    collectDefaultMetrics({ register: this.registry });
    this.queueDepth = new Gauge({
      name: 'herald_queue_depth',
      help: 'Deliveries waiting for an attempt (pending)',
      registers: [this.registry],
      async collect() {
        this.set(await queueDepth());
      },
    });
  }
}
