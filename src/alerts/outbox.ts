import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { envelopeRenderer } from '../core/envelope.js';
import type { Sender } from '../delivery/http.js';
import { ALERTS_APP_ID, type AlertNotification } from '../store/alerts.js';
import type { Store } from '../store/types.js';

/**
 * Sends queued alert notifications: email over SMTP, Slack-format POSTs, and webhook events
 * published into Herald's alerts app (signed, retried and logged as deliveries). It runs on
 * timers of its own with a few sends at a time and short network timeouts, so a dead SMTP
 * server or Slack URL costs the delivery worker nothing: it is retried with backoff here.
 */

/** Seconds before retry 1, 2, …; the last repeats. Given up once a notification is a day old. */
export const ALERT_RETRY_SCHEDULE = [10, 30, 120, 600, 1800, 3600];
export const ALERT_GIVE_UP_MS = 24 * 3600_000;

/** When to try again after `attempts` failed tries, or null to give up. */
export function alertRetryAt(attempts: number, createdAt: number, now: number): number | null {
  const delay = ALERT_RETRY_SCHEDULE[Math.min(attempts, ALERT_RETRY_SCHEDULE.length) - 1] ?? ALERT_RETRY_SCHEDULE[0];
  const at = now + delay * 1000;
  return at - createdAt > ALERT_GIVE_UP_MS ? null : at;
}

export interface Mailer {
  send(m: { from: string; to: string[]; subject: string; text: string }): Promise<void>;
  close(): void;
}

/** SMTP from HERALD_SMTP_URL (STARTTLS when the server offers it; smtps:// for TLS from the start), with short timeouts. */
export function smtpMailer(url: string): Mailer {
  const transport = nodemailer.createTransport({
    url, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 15_000, dnsTimeout: 5000,
  } as unknown as nodemailer.TransportOptions);
  return {
    async send(m) {
      await transport.sendMail(m);
    },
    close: () => transport.close(),
  };
}

export interface AlertOutboxOptions {
  store: Store;
  logger: Logger;
  /** outbound HTTP with the SSRF guard, for Slack-format channels */
  sender: Sender;
  mailer: Mailer | null;
  from: string;
  /** a webhook channel's event was published: the worker should look */
  notifyWorker: () => void;
  /** sends at once at most */
  concurrency?: number;
  pollMs?: number;
  /** a claimed notification not finished by then is due again (its sender died) */
  leaseMs?: number;
  slackTimeoutMs?: number;
}

export class AlertOutbox {
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private claiming = false;
  private readonly sends = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly o: AlertOutboxOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.o.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Looks for due notifications now (at most `concurrency` in flight). */
  kick(): void {
    if (this.stopped || this.claiming) return;
    const room = (this.o.concurrency ?? 4) - this.inFlight;
    if (room <= 0) return;
    this.claiming = true;
    const now = Date.now();
    this.o.store
      .claimAlertNotifications(now, now + (this.o.leaseMs ?? 60_000), room)
      .then((batch) => {
        for (const n of batch) this.track(this.deliver(n));
      })
      .catch((err) => this.o.logger.error({ err }, 'claiming alert notifications failed'))
      .finally(() => (this.claiming = false));
  }

  private track(p: Promise<void>): void {
    this.inFlight++;
    this.sends.add(p);
    void p.finally(() => {
      this.inFlight--;
      this.sends.delete(p);
    });
  }

  private async deliver(n: AlertNotification): Promise<void> {
    try {
      await this.send(n);
      await this.o.store.finishAlertNotification(n.id, { sent: true });
    } catch (err) {
      const error = describe(err);
      const retryAt = alertRetryAt(n.attempts, n.createdAt, Date.now());
      // Channel details stay out of the log: a Slack URL is a credential, addresses are personal.
      this.o.logger.warn({ notificationId: n.id, ruleId: n.ruleId, channel: n.channel.type, attempts: n.attempts, error, retryAt }, retryAt
        ? 'alert notification failed; will retry' : 'alert notification failed for a day; given up');
      await this.o.store.finishAlertNotification(n.id, { sent: false, error, retryAt }).catch((e) => this.o.logger.error({ err: e }, 'recording an alert notification failed'));
    }
  }

  private async send(n: AlertNotification): Promise<void> {
    const c = n.channel;
    if (c.type === 'email') {
      if (!this.o.mailer) throw new Error('HERALD_SMTP_URL is not set');
      await this.o.mailer.send({ from: this.o.from, to: c.to, subject: n.message.subject, text: n.message.text });
    } else if (c.type === 'slack') {
      const res = await this.o.sender.send(c.url, { 'content-type': 'application/json' }, JSON.stringify(n.message.slack), this.o.slackTimeoutMs ?? 10_000);
      if (res.statusCode === null) throw new Error(res.error ?? 'no response');
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
    } else {
      await this.publish(n, c.endpointId);
    }
  }

  /** One event per notification, its id derived from the notification's: publishing it again (a retry) is a no-op. */
  private async publish(n: AlertNotification, endpointId: string): Promise<void> {
    const { store } = this.o;
    const endpoint = await store.getEndpoint(ALERTS_APP_ID, endpointId);
    if (!endpoint) throw new Error('the webhook channel\'s endpoint was deleted');
    if (endpoint.status !== 'active') throw new Error(`the webhook channel's endpoint is disabled (${endpoint.disabledReason ?? 'manual'})`);
    const now = Date.now();
    const id = n.id.replace(/^ntf_/, 'evt_');
    const e = n.message.event;
    await store.publish(ALERTS_APP_ID, [{
      id, type: e.type, timestamp: now, orderingKey: null, idempotencyKey: null, endpointIds: [endpointId],
      render: envelopeRenderer({ id, type: e.type, timestamp: new Date(now).toISOString(), data: e.data }),
    }], now);
    this.o.notifyWorker();
  }

  /**
   * Waits up to `graceMs` for sends under way (a Slack URL may take its whole timeout): one
   * cut short is sent again by whichever process claims it once its lease ends.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.sends]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.o.mailer?.close();
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const text = e?.message ?? String(err);
  // nodemailer's messages can quote the server's reply; keep them short and single-line.
  return (e?.code ? `${e.code}: ${text}` : text).replace(/\s+/g, ' ').slice(0, 300);
}
