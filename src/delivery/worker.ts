import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { newId } from '../ids.js';
import type { Metrics } from '../metrics.js';
import {
  PARKED_AT,
  type AttemptOutcome, type ClaimedDelivery, type Endpoint, type HealthChange, type HealthPolicy, type Store,
} from '../store/types.js';
import { isRelay } from '../core/relay.js';
import { EndpointGate } from './gate.js';
import { attempt, prefetch, type RelaySender } from './attempt.js';
import type { Sender } from './http.js';
import { OutcomeWriter } from './outcome-writer.js';

/** The relay sockets of this process (relay/hub.ts): which relay endpoints it can send to. */
export interface RelayLink extends RelaySender {
  has(endpointId: string): boolean;
  endpoints(): string[];
}

export interface WorkerOptions {
  store: Store;
  sender: Sender;
  relay?: RelayLink;
  logger: Logger;
  metrics?: Metrics;
  /** requests in flight at most */
  concurrency: number;
  defaults: { retrySchedule: number[]; retryJitter: number; maxRetryAfterSeconds: number; timeoutMs: number };
  /** requests in flight per endpoint when the endpoint sets no maxInFlight */
  endpointMaxInFlight: number;
  health: HealthPolicy;
  /** deliveries/s released to a recovering endpoint in its first second; doubles each second */
  recoveryStartRate: number;
  /** endpoint health transitions (operational webhooks) */
  onHealthChanges?: (changes: HealthChange[]) => void;
  /** deliveries that failed for good */
  onExhausted?: (delivery: ClaimedDelivery, outcome: AttemptOutcome) => void;
  batchSize?: number;
  /** longest idle sleep; bounds how late work written by another process is noticed */
  idleMaxMs?: number;
  flushIntervalMs?: number;
}

/**
 * The delivery loop: claim a batch of due deliveries in one statement, pass each through its
 * endpoint's gate (circuit, concurrency, rate), send, and write results back in batches.
 * Idle, it sleeps until the earliest scheduled retry or until `notify()` (a publish committed),
 * so it neither polls in a tight loop nor adds latency to fresh events.
 */
export class DeliveryWorker {
  readonly id = newId('dlv').replace('dlv_', 'wrk_');
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<string>();
  private readonly gates = new Map<string, EndpointGate>();
  /** gates with queued deliveries, in the order they get their turn */
  private readonly waiting = new Set<EndpointGate>();
  /** endpoints with traffic in the last second: they share the concurrency */
  private recentGates = 0;
  private queued = 0;
  private reserved = 0;
  private wakeUp: (() => void) | null = null;
  private notified = false;
  /** the loop sleeps because memory is full, not for lack of due work: freed room should wake it */
  private waitingForRoom = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private readonly writer: OutcomeWriter;
  private lastMaintenance = 0;
  private lastHeartbeat = 0;
  /** live worker processes sharing the database, this one included */
  private workers = 1;
  private readonly batchSize: number;
  private readonly lowWater: number;
  private readonly leaseMs: number;

  constructor(private readonly o: WorkerOptions) {
    this.batchSize = o.batchSize ?? 500;
    // Refill only when a quarter of the slots are free, so claims stay batched under load.
    this.lowWater = Math.max(1, Math.min(this.batchSize, Math.floor(o.concurrency / 4)));
    // A claim's lease covers a request at the default timeout plus queueing and the result
    // flush. With several workers (PostgreSQL) a delivery whose worker died is sent again
    // once this runs out; an endpoint with a longer timeoutMs than the lease may then see a
    // duplicate if its attempt really takes that long.
    this.leaseMs = Math.max(o.defaults.timeoutMs + 15_000, 20_000);
    this.writer = new OutcomeWriter(o.store, o.health, this.batchSize, o.flushIntervalMs ?? 5, o.logger, (batch, changes) => {
      this.applyHealth(changes);
      for (const p of batch) if (p.outcome.status === 'failed') this.o.onExhausted?.(p.delivery, p.outcome);
      // A retry or a released successor due sooner than the worker's current sleep must wake it.
      if (batch.some((p) => p.outcome.status === 'pending' || p.outcome.orderingKey)) this.notify();
    });
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop().catch((err) => this.o.logger.error({ err }, 'delivery loop crashed'));
  }

  /**
   * Hand-off from a publish in this process: how many fresh deliveries the worker takes
   * directly (at most 2 × concurrency held in memory, sending or queued). The caller writes
   * that many already leased to the worker and passes them to `accept`.
   */
  reserve(max: number): { owner: string; until: number; limit: number } | null {
    if (!this.running) return null;
    const limit = Math.max(0, Math.min(max, this.room() - this.reserved));
    if (limit === 0) return null;
    this.reserved += limit;
    return { owner: this.id, until: Date.now() + this.leaseMs, limit };
  }

  accept(reserved: number, deliveries: ClaimedDelivery[]): void {
    this.reserved -= reserved;
    if (deliveries.length === 0) return;
    if (!this.running) {
      // Stopped in between: hand them back so the next start (or another worker) sends them.
      void this.release(deliveries.map((d) => ({ id: d.id, at: Date.now() })));
      return;
    }
    this.dispatch(deliveries);
  }

  /**
   * Sends what waits for a relay endpoint whose listener is connected to this process: on
   * connect, and at every maintenance tick (deliveries another process claimed and held back
   * for want of the socket come here within a quarter second).
   */
  async takeRelay(endpointId: string, appId?: string): Promise<void> {
    if (!this.running) return;
    if (appId) {
      // Just connected: an open circuit is probed now, through this listener, rather than at
      // its next due time (a listener may well be why it opened: the developer's handler was down).
      const ep = await this.o.store.getEndpoint(appId, endpointId);
      if (ep && ep.status === 'active' && (ep.circuitState === 'open' || ep.circuitState === 'half_open')) {
        const now = Date.now();
        const probe = await this.o.store.claimProbe(ep, this.id, now + this.leaseMs, now);
        if (probe) this.dispatch([probe], true);
        return;
      }
    }
    for (;;) {
      const want = Math.min(this.room() - this.reserved, this.batchSize);
      if (want <= 0 || !this.o.relay?.has(endpointId)) return;
      const now = Date.now();
      const claimed = await this.o.store.claimHeld(endpointId, this.id, now + this.leaseMs, want);
      this.dispatch(claimed);
      if (claimed.length < want) return;
      await yieldToLoop();
    }
  }

  /** New work may be due now (a publish committed, a retry was requested). */
  notify(): void {
    this.notified = true;
    this.wakeUp?.();
  }

  /** Stop claiming, give in-flight attempts `graceMs` to finish, write their results, hand back the rest. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeUp?.();
    if (this.drainTimer) clearTimeout(this.drainTimer);
    await this.loopDone;
    const queued: Array<{ id: string; at: number }> = [];
    for (const gate of this.gates.values()) for (const d of gate.queue.splice(0)) queued.push({ id: d.id, at: Date.now() });
    if (queued.length > 0) await this.release(queued);
    const deadline = Date.now() + graceMs;
    while (this.inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.writer.flush();
    if (this.inflight.size > 0) {
      const ids = [...this.inflight];
      this.inflight.clear();
      await this.release(ids.map((id) => ({ id, at: Date.now() })));
      this.o.logger.warn({ count: ids.length }, 'released unfinished deliveries at shutdown');
    }
  }

  /**
   * Max-min fairness: while several endpoints have traffic (within the last second), none may
   * hold more than an equal share of the slots (at least 4), so one that hangs until its
   * timeout can't take the capacity the others need. Alone, an endpoint may use all of them.
   */
  private share(): number {
    return Math.max(4, Math.floor(this.o.concurrency / Math.max(1, this.recentGates)));
  }

  /** Marks traffic for an endpoint; the exact count is redone at each maintenance tick. */
  private touch(gate: EndpointGate, now: number): void {
    if (gate.lastActiveAt < now - 1000) this.recentGates++;
    gate.lastActiveAt = now;
  }

  /** Recounts endpoints with recent traffic, and forgets gates idle for ten minutes. */
  private recount(now: number): void {
    let recent = 0;
    for (const [id, gate] of this.gates) {
      if (gate.lastActiveAt >= now - 1000 || !gate.idle) recent++;
      else if (gate.lastActiveAt < now - 600_000 && !gate.blocked) this.gates.delete(id);
    }
    this.recentGates = recent;
  }

  /** Slots for more deliveries in memory: up to the concurrency in flight plus as many queued. */
  private room(): number {
    return 2 * this.o.concurrency - this.inflight.size - this.queued;
  }

  private async loop(): Promise<void> {
    const idleMaxMs = this.o.idleMaxMs ?? 1000;
    while (this.running) {
      if (Date.now() - this.lastMaintenance >= 250) await this.maintainCircuits();
      const free = this.room() - this.reserved;
      if (free < this.lowWater && this.inflight.size > 0) {
        this.waitingForRoom = true;
        await this.sleep(idleMaxMs);
        this.waitingForRoom = false;
        continue;
      }
      const want = Math.min(Math.max(free, 1), this.batchSize);
      this.notified = false;
      let claimed: ClaimedDelivery[];
      try {
        const now = Date.now();
        claimed = await this.o.store.claimDue(this.id, now, now + this.leaseMs, want);
      } catch (err) {
        this.o.logger.error({ err }, 'claiming deliveries failed; retrying in 1s');
        await this.sleep(1000);
        continue;
      }
      this.dispatch(claimed);
      if (claimed.length === want) {
        await yieldToLoop();
        continue;
      }
      if (this.notified) continue;
      const next = await this.o.store.nextDueAt().catch(() => null);
      // Idle, this wakes at most once a second: a claim, a next-due and a circuit query.
      const wait = Math.min(next === null ? idleMaxMs : next - Date.now(), idleMaxMs);
      if (wait > 0) await this.sleep(wait);
    }
  }

  private gateFor(endpoint: Endpoint): EndpointGate {
    let gate = this.gates.get(endpoint.id);
    if (!gate) {
      gate = new EndpointGate(endpoint, this.o.endpointMaxInFlight, this.workers, Date.now());
      this.gates.set(endpoint.id, gate);
    } else gate.configure(endpoint, this.o.endpointMaxInFlight, this.workers);
    return gate;
  }

  /** Sends, queues, defers or holds back each delivery according to its endpoint's state. */
  private dispatch(claimed: ClaimedDelivery[], probe = false): void {
    const now = Date.now();
    const back: Array<{ id: string; at: number }> = [];
    let queuedAny = false;
    for (const d of claimed) {
      if (d.endpoint.transform) prefetch(d, this.o);
      const ep = d.endpoint;
      const gate = this.gateFor(ep);
      this.touch(gate, now);
      const share = this.share();
      const noListener = isRelay(ep) && !this.o.relay?.has(ep.id);
      if (!probe) gate.held = ep.status !== 'active' || ep.circuitState === 'open' || ep.circuitState === 'half_open' || noListener;
      // A disabled endpoint or an open circuit keeps its deliveries, held back, until it
      // recovers; a relay endpoint until a listener connects to this process (takeRelay).
      if (probe && noListener) {
        // Not this process's listener: hold the probe back and let the circuit be probed again
        // soon, by whichever process takes it next (the one with the socket probes on connect).
        back.push({ id: d.id, at: PARKED_AT });
        void this.o.store.reopenCircuit(ep.id, now + this.o.health.circuitBaseMs, now).catch((err) => this.o.logger.error({ err }, 'reopening a circuit failed'));
      } else if (gate.blocked && !probe) back.push({ id: d.id, at: PARKED_AT });
      else if (probe || (gate.queue.length === 0 && gate.canStart(now, share) && this.inflight.size < this.o.concurrency)) this.send(d, gate, probe);
      else if (gate.hasRoom(now, share)) {
        gate.queue.push(d);
        this.queued++;
        this.waiting.add(gate);
        queuedAny = true;
      } else back.push({ id: d.id, at: gate.deferAt(now, share) });
    }
    if (back.length > 0) void this.release(back);
    if (queuedAny) this.scheduleDrain(0);
  }

  private release(items: Array<{ id: string; at: number }>): Promise<void> {
    return this.o.store.releaseClaims(items).catch((err) => this.o.logger.error({ err }, 'handing deliveries back failed'));
  }

  /**
   * Starts queued deliveries where their gates allow, taking the endpoints in turn: a gate
   * that got a slot goes to the back of the line. Stops as soon as the slots are gone, so a
   * completion under load costs one step, not a pass over every waiting endpoint.
   */
  private drain(): void {
    this.drainTimer = null;
    const now = Date.now();
    const share = this.share();
    let nextWait = Infinity;
    let visits = this.waiting.size;
    for (const gate of this.waiting) {
      if (visits-- <= 0 || this.inflight.size >= this.o.concurrency) break;
      this.waiting.delete(gate);
      if (gate.blocked) {
        this.holdQueue(gate);
        continue;
      }
      while (gate.queue.length > 0 && this.inflight.size < this.o.concurrency && gate.canStart(now, share)) {
        this.queued--;
        this.send(gate.queue.shift()!, gate, false);
      }
      if (gate.queue.length > 0) {
        this.waiting.add(gate); // back of the line
        const wait = gate.waitMs(now);
        if (wait > 0) nextWait = Math.min(nextWait, wait);
      }
    }
    if (nextWait !== Infinity) this.scheduleDrain(nextWait);
    this.roomFreed();
  }

  private roomFreed(): void {
    if (this.waitingForRoom && this.room() - this.reserved >= this.lowWater) this.wakeUp?.();
  }

  private scheduleDrain(ms: number): void {
    if (this.drainTimer) {
      if (ms > 0) return;
      clearTimeout(this.drainTimer);
    }
    this.drainTimer = setTimeout(() => this.drain(), ms);
  }

  private send(d: ClaimedDelivery, gate: EndpointGate, probe: boolean): void {
    gate.started(Date.now());
    this.inflight.add(d.id);
    let duration = 0;
    let ok = false;
    let sent = true;
    attempt(d, probe, this.o)
      .then((outcome) => {
        if (!outcome) {
          // The relay listener went away before answering: back to waiting for one.
          sent = false;
          void this.release([{ id: d.id, at: PARKED_AT }]);
          return;
        }
        duration = outcome.attempt.durationMs;
        ok = outcome.status === 'success';
        this.writer.add(d, outcome);
      })
      .catch((err) => this.o.logger.error({ err, deliveryId: d.id }, 'delivery attempt crashed'))
      .finally(() => {
        if (!sent) {
          gate.abandoned(Date.now());
          if (!this.o.relay?.has(d.endpoint.id)) {
            gate.held = true;
            this.holdQueue(gate);
          }
        } else gate.finished(duration, ok, { threshold: this.o.health.circuitThreshold, cooldownMs: this.o.health.circuitBaseMs }, Date.now());
        if (probe && ok) gate.reset();
        this.inflight.delete(d.id);
        if (this.waiting.size > 0) this.drain();
        else this.roomFreed();
      });
  }

  private applyHealth(changes: HealthChange[]): void {
    if (changes.length === 0) return;
    for (const c of changes) {
      const gate = this.gates.get(c.endpointId);
      if (!gate) continue;
      if (c.kind === 'circuit_opened' || c.kind === 'disabled') {
        gate.held = true;
        this.holdQueue(gate);
      } else if (c.kind === 'circuit_recovering') gate.reset();
    }
    this.o.logger.info({ changes }, 'endpoint health changed');
    this.o.onHealthChanges?.(changes);
  }

  /**
   * An endpoint that turned slow (a request outstanding for long) keeps a shorter queue: the
   * excess goes back to the database, spread over the time it needs, and frees the room for
   * endpoints that are answering.
   */
  private trimQueues(): void {
    const now = Date.now();
    const share = this.share();
    const back: Array<{ id: string; at: number }> = [];
    for (const gate of this.waiting) {
      const cap = gate.queueCap(now, share);
      while (gate.queue.length > cap) {
        const d = gate.queue.pop()!;
        this.queued--;
        back.push({ id: d.id, at: gate.deferAt(now, share) });
      }
    }
    if (back.length > 0) void this.release(back);
  }

  /** What waits in memory for a blocked endpoint is held back with the rest of its backlog. */
  private holdQueue(gate: EndpointGate): void {
    const held = gate.queue.splice(0).map((d) => ({ id: d.id, at: PARKED_AT }));
    this.queued -= held.length;
    this.waiting.delete(gate);
    if (held.length > 0) void this.release(held);
  }

  /**
   * Open circuits due for a probe get one held delivery sent; recovering ones get their next
   * release of held deliveries, twice as many per second as the second before.
   */
  private async maintainCircuits(): Promise<void> {
    this.lastMaintenance = Date.now();
    this.recount(this.lastMaintenance);
    this.trimQueues();
    try {
      const now = Date.now();
      if (now - this.lastHeartbeat >= 2000) {
        this.lastHeartbeat = now;
        this.workers = await this.o.store.heartbeat(this.id, now, 10_000);
      }
      for (const id of this.o.relay?.endpoints() ?? []) await this.takeRelay(id);
      for (const ep of await this.o.store.takeDueCircuits(now, now + this.leaseMs, 50)) {
        if (ep.circuitState === 'recovering') {
          const seconds = Math.floor((now - (ep.circuitSince ?? now)) / 1000);
          const limit = Math.ceil(this.o.recoveryStartRate * 2 ** Math.min(seconds, 40));
          const released = await this.o.store.releaseHeld(ep.id, limit, now + 1000, now);
          this.gateFor(ep).reset();
          if (released > 0) this.notified = true;
        } else {
          const probe = await this.o.store.claimProbe(ep, this.id, now + this.leaseMs, now);
          if (probe) this.dispatch([probe], true);
          else this.gateFor(ep).reset();
        }
      }
    } catch (err) {
      this.o.logger.error({ err }, 'circuit maintenance failed');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }
}
