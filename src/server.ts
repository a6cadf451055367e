import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AlertEngine } from './alerts/engine.js';
import { AlertOutbox, smtpMailer } from './alerts/outbox.js';
import { buildApi } from './api/app.js';
import { Publisher } from './publish/publisher.js';
import type { HeraldConfig } from './config.js';
import { AddressPolicy } from './core/address-policy.js';
import { SecretBox } from './core/secret-box.js';
import type { LookupFunction } from './delivery/guard.js';
import { createSender } from './delivery/http.js';
import { ConfigError } from './errors.js';
import { OperatorNotifier } from './ops.js';
import { Retention } from './delivery/retention.js';
import { InboundForwarder } from './inbound/forwarder.js';
import { InboundGateway } from './inbound/gateway.js';
import { createPollFetcher } from './inbound/poll-fetch.js';
import { Poller } from './inbound/poller.js';
import { VERSION } from './version.js';
import { DeliveryWorker } from './delivery/worker.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { openStore } from './store/index.js';
import { RelayHub } from './relay/hub.js';
import type { Store } from './store/types.js';

export interface Herald {
  config: HeraldConfig;
  store: Store;
  metrics: Metrics;
  fastify: FastifyInstance | null;
  worker: DeliveryWorker | null;
  /** starts the worker and, with the API role, listens; resolves to the API's base URL */
  start(): Promise<string | null>;
  /** graceful: stop accepting, finish or hand back in-flight attempts, close the database */
  close(graceMs?: number): Promise<void>;
}

/** Wires one Herald process from its configuration: store, API and/or worker. */
export interface HeraldOptions {
  apiKey: string;
  logger?: Logger;
  /** encrypts endpoint secrets at rest; default: from config.encryptionKey, else none */
  box?: SecretBox;
  /** DNS resolution for outbound requests (tests point hostnames at loopback with it) */
  resolve?: LookupFunction;
}

/** Wires one Herald process from its configuration: store, API and/or worker. */
export async function createHerald(config: HeraldConfig, options: HeraldOptions): Promise<Herald> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const keyBytes = config.encryptionKey ? SecretBox.parseKey(config.encryptionKey) : null;
  if (config.encryptionKey && !keyBytes) throw new ConfigError('HERALD_ENCRYPTION_KEY must be 32 bytes, base64 or hex');
  const box = options.box ?? (keyBytes ? new SecretBox(keyBytes) : undefined);
  const store = await openStore(config.databaseUrl, { box });
  const metrics = new Metrics(() => store.queueDepth());
  const policy = new AddressPolicy(config.dev, config.allowedNetworks);
  const sender = createSender({ policy, resolve: options.resolve });

  let ops: OperatorNotifier | null = null;
  let worker: DeliveryWorker | null = null;
  let alerts: AlertEngine | null = null;
  // A listener's endpoint may have deliveries waiting: send them now rather than at the next tick.
  const relay = config.roles.worker
    ? new RelayHub(logger, (id, appId) => void worker?.takeRelay(id, appId).catch((err) => logger.error({ err, endpointId: id }, 'relay hand-off failed')), config.relayPingMs,
        store.reportRelays ? (presence) => store.reportRelays!(worker!.id, presence, Date.now()) : undefined)
    : null;
  worker = config.roles.worker
    ? new DeliveryWorker({
        store, sender, relay: relay ?? undefined, logger, metrics, concurrency: config.workerConcurrency,
        defaults: {
          retrySchedule: config.retrySchedule, retryJitter: config.retryJitter,
          maxRetryAfterSeconds: config.maxRetryAfterSeconds, timeoutMs: config.requestTimeoutMs,
        },
        endpointMaxInFlight: config.endpointMaxInFlight,
        health: {
          disableAfterFailures: config.disableAfterFailures, disableAfterSeconds: config.disableAfterSeconds,
          failingThreshold: config.failingThreshold, circuitThreshold: config.circuitThreshold,
          circuitBaseMs: config.circuitBaseMs, circuitMaxMs: config.circuitMaxMs,
        },
        recoveryStartRate: config.recoveryStartRate,
        onHealthChanges: (changes) => {
          ops?.healthChanged(changes);
          // Rules watching an endpoint that was just disabled hear of it within a second, not at the next round.
          if (changes.some((c) => c.kind === 'disabled')) alerts?.kick();
        },
        onExhausted: (d, outcome) => ops?.deliveryExhausted(d, outcome),
      })
    : null;
  const notifyWorker = worker ? () => worker.notify() : () => {};
  const publisher = new Publisher(store, config.maxPayloadBytes, metrics, worker);
  if (config.operatorApp) ops = new OperatorNotifier(store, publisher, config.operatorApp, logger);
  const forwarder = worker ? new InboundForwarder({ store, publisher, logger, notifyWorker }) : null;
  const gateway = new InboundGateway(store, metrics, logger, worker, (source, claim) => {
    if (claim) notifyWorker();
    if (source.destinations.some((d) => d.type === 'app')) forwarder?.kick();
  });
  // Reconciliation by polling: on a timer with the worker role, and on demand (POST …/poll) in any process.
  const pollFetcher = createPollFetcher({ policy, resolve: options.resolve, userAgent: `Herald/${VERSION}` });
  const poller = new Poller({
    store, fetcher: pollFetcher, logger, metrics, maxRetryAfterSeconds: config.maxRetryAfterSeconds,
    onAccepted: (source) => {
      notifyWorker();
      if (source.destinations.some((d) => d.type === 'app')) forwarder?.kick();
    },
  });
  const fastify = config.roles.api
    ? buildApi({ store, config, metrics, publisher, notifyWorker, addressPolicy: policy, ops, gateway, relay, poller }, { logger, apiKey: options.apiKey }).fastify
    : null;

  const retention = worker ? new Retention(store, config.retentionDays, logger) : null;
  // Alerts: evaluated by the worker role; notifications go out from an outbox on timers of its own.
  let baseUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const alertSender = worker ? createSender({ policy, resolve: options.resolve }) : null;
  const outbox = worker && alertSender
    ? new AlertOutbox({ store, logger, sender: alertSender, mailer: config.smtpUrl ? smtpMailer(config.smtpUrl) : null, from: config.alertFrom, notifyWorker })
    : null;
  alerts = worker ? new AlertEngine({ store, logger, intervalMs: config.alertIntervalMs, baseUrl: () => baseUrl, onQueued: () => outbox?.kick() }) : null;
  let unlisten: (() => Promise<void>) | null = null;
  let closed = false;
  return {
    config, store, metrics, fastify, worker,
    async start() {
      if (worker) {
        // A backend with one worker process: whatever it held when it last stopped (or was
        // killed) is free to send again now.
        if (!store.leasesExpire) {
          const released = await store.releaseAllLeases(Date.now());
          if (released > 0) logger.info({ released }, 'resumed deliveries that were in flight at the last stop');
        }
        worker.start();
        retention?.start();
        forwarder?.start();
        // Runs a crash cut short held their source's lease: this is the only poller of the file.
        if (!store.leasesExpire) await store.releasePollLeases();
        poller.start();
        alerts?.start();
        outbox?.start();
        // Other processes' publishes wake this worker at once (PostgreSQL LISTEN/NOTIFY).
        if (store.listen) unlisten = await store.listen(() => worker.notify());
      }
      if (!fastify) return null;
      const url = await fastify.listen({ host: config.host, port: config.port });
      if (!config.publicUrl) baseUrl = url;
      return url;
    },
    async close(graceMs = 10_000) {
      if (closed) return;
      closed = true;
      relay?.close();
      if (fastify) await fastify.close();
      if (unlisten) await unlisten();
      await retention?.stop();
      await forwarder?.stop();
      await poller.stop();
      await pollFetcher.close();
      await alerts?.stop();
      await outbox?.stop(Math.min(graceMs, 2000));
      if (worker) await worker.stop(graceMs);
      await sender.close();
      await alertSender?.close();
      await store.close();
    },
  };
}
