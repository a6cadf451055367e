import type { Migration } from '../migration.js';
import type pg from 'pg';

/**
 * Numbered PostgreSQL migrations. Each runs in its own transaction together with its row
 * in herald_migrations, so a crash mid-migration leaves the previous version. Never edit a
 * released migration: add the next number.
 *
 * Types: epoch-ms times and the PARKED_AT / ORDER_HELD_AT sentinels (≈ 2^53) are bigint;
 * JSON is `json`, not `jsonb`, because nothing queries inside it and `json` keeps the user's
 * key order (metadata, JSON Schemas) exactly as SQLite returns it. Ids that order pages are
 * `COLLATE "C"`: byte order, as in SQLite, whatever the database's locale (under en_US the
 * '~' cursor sentinel would sort before letters).
 */

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
CREATE TABLE apps (
  id                TEXT COLLATE "C" PRIMARY KEY,
  uid               TEXT UNIQUE,
  name              TEXT NOT NULL,
  metadata          JSON NOT NULL DEFAULT '{}',
  signature_profile JSON,
  last_sequence     BIGINT NOT NULL DEFAULT 0,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL
);

CREATE TABLE event_types (
  name        TEXT COLLATE "C" PRIMARY KEY,
  description TEXT,
  schema      JSON,
  archived    BOOLEAN NOT NULL DEFAULT false,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);

CREATE TABLE endpoints (
  id                     TEXT COLLATE "C" PRIMARY KEY,
  app_id                 TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  url                    TEXT NOT NULL,
  description            TEXT,
  events                 JSON,
  status                 TEXT NOT NULL,
  disabled_reason        TEXT,
  disabled_at            BIGINT,
  secret                 TEXT NOT NULL,
  previous_secrets       JSON,
  headers                JSON NOT NULL DEFAULT '{}',
  retry_schedule         JSON,
  timeout_ms             INTEGER,
  rate_limit             DOUBLE PRECISION,
  max_in_flight          INTEGER,
  disable_after_failures INTEGER,
  disable_after_seconds  INTEGER,
  metadata               JSON NOT NULL DEFAULT '{}',
  consecutive_failures   INTEGER NOT NULL DEFAULT 0,
  failing_since          BIGINT,
  circuit_state          TEXT NOT NULL DEFAULT 'closed',
  circuit_until          BIGINT,
  circuit_since          BIGINT,
  last_attempt_at        BIGINT,
  created_at             BIGINT NOT NULL,
  updated_at             BIGINT NOT NULL
);
CREATE INDEX endpoints_app ON endpoints(app_id, id);
CREATE INDEX endpoints_circuit ON endpoints(circuit_until) WHERE circuit_state <> 'closed';

CREATE TABLE events (
  pk              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  app_id          TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  id              TEXT NOT NULL,
  type            TEXT NOT NULL,
  timestamp       BIGINT NOT NULL,
  sequence        BIGINT NOT NULL,
  idempotency_key TEXT,
  ordering_key    TEXT,
  body            TEXT NOT NULL,
  deliveries      INTEGER NOT NULL DEFAULT 0,
  created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX events_app_id ON events(app_id, id);
CREATE UNIQUE INDEX events_app_sequence ON events(app_id, sequence);
CREATE UNIQUE INDEX events_app_idempotency ON events(app_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Retention looks for old events. created_at follows insertion, hence the physical order, so
-- a BRIN index (a few pages per million rows, next to free to maintain) finds the oldest
-- block ranges; a b-tree would cost one more index write per published event.
CREATE INDEX events_created ON events USING brin (created_at);

CREATE TABLE deliveries (
  id               TEXT COLLATE "C" PRIMARY KEY,
  app_id           TEXT COLLATE "C" NOT NULL,
  endpoint_id      TEXT COLLATE "C" NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  event_pk         BIGINT NOT NULL REFERENCES events(pk) ON DELETE CASCADE,
  event_id         TEXT NOT NULL,
  event_type       TEXT NOT NULL,
  status           TEXT NOT NULL,
  attempt_count    INTEGER NOT NULL DEFAULT 0,
  one_shot         BOOLEAN NOT NULL DEFAULT false,
  last_status_code INTEGER,
  last_error       TEXT,
  next_attempt_at  BIGINT,
  lease_owner      TEXT,
  ordering_key     TEXT,
  event_seq        BIGINT,
  created_at       BIGINT NOT NULL,
  last_attempt_at  BIGINT,
  delivered_at     BIGINT
);
-- The claim walks this partial index in due order. Unlike SQLite's, leased deliveries stay
-- in it: a claim moves next_attempt_at to the lease's end, behind everything due now, so an
-- expired lease is due again without a sweep. Finished deliveries leave it.
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_app ON deliveries(app_id, id);
CREATE INDEX deliveries_endpoint ON deliveries(endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries(event_pk);
-- Per endpoint and ordering key, the pending deliveries in publish order: finding whether a
-- key has one in progress, and the next to release when it finishes. Unkeyed deliveries
-- never enter it, so ordering costs nothing to those who don't use it.
CREATE INDEX deliveries_ordering ON deliveries(endpoint_id, ordering_key, event_seq)
  WHERE ordering_key IS NOT NULL AND status = 'pending';
-- Deliveries held back (endpoint disabled or circuit open), per endpoint, to release them
-- gradually. The constants are PARKED_AT and ORDER_HELD_AT; queries must repeat them.
CREATE INDEX deliveries_held ON deliveries(endpoint_id, next_attempt_at)
  WHERE status = 'pending' AND lease_owner IS NULL AND next_attempt_at >= 8000000000000000 AND next_attempt_at < 9000000000000000;

-- Attempts are only ever read per delivery: (delivery_id, number) is their key, and the
-- guard against recording one attempt twice (see recordBatch in sql.ts).
CREATE TABLE attempts (
  delivery_id   TEXT COLLATE "C" NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  number        INTEGER NOT NULL,
  id            TEXT NOT NULL,
  endpoint_id   TEXT NOT NULL,
  started_at    BIGINT NOT NULL,
  duration_ms   INTEGER NOT NULL,
  status_code   INTEGER,
  response_body TEXT,
  error         TEXT,
  PRIMARY KEY (delivery_id, number)
);
`,
  },
  {
    version: 2,
    name: 'worker registry',
    sql: `
-- One row per live worker process, refreshed by its heartbeat: per-endpoint limits are
-- shared out between the workers seen recently.
CREATE TABLE herald_workers (
  id      TEXT PRIMARY KEY,
  seen_at BIGINT NOT NULL
);
`,
  },
  {
    version: 3,
    name: 'inbound gateway: sources, request log, dedup keys, sequences',
    sql: `
-- A source's accepted requests are events of its own app, holding the raw bytes (any content
-- type) and the original headers forwarded with them. Both NULL for published events.
ALTER TABLE events ADD COLUMN raw BYTEA;
ALTER TABLE events ADD COLUMN headers JSON;

CREATE TABLE sources (
  id              TEXT COLLATE "C" PRIMARY KEY,
  app_id          TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES apps(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  verification    JSON NOT NULL,
  dedup           JSON,
  ordering        JSON,
  destinations    JSON NOT NULL,
  forward_headers JSON,
  rate_limit      DOUBLE PRECISION,
  response        JSON,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);

-- The request log: every request a source received, accepted or not. Not tied to events by a
-- foreign key: retention prunes both, and a cascade would need another index to find rows.
CREATE TABLE inbound_requests (
  pk           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id           TEXT COLLATE "C" NOT NULL UNIQUE,
  source_id    TEXT COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  status       TEXT NOT NULL,
  reason       TEXT,
  detail       TEXT,
  received_at  BIGINT NOT NULL,
  headers      JSON NOT NULL,
  content_type TEXT,
  body_size    INTEGER NOT NULL,
  dedup_key    TEXT,
  ordering_key TEXT,
  sequence     BIGINT,
  event_pk     BIGINT,
  waiting      BOOLEAN NOT NULL DEFAULT false,
  release_seq  BIGINT,
  app_pending  BOOLEAN NOT NULL DEFAULT false,
  app_error    TEXT,
  gap_from     BIGINT,
  gap_to       BIGINT
);
CREATE INDEX inbound_requests_source ON inbound_requests(source_id, id);
-- Requests held for a missing earlier sequence, per key in sequence order.
CREATE INDEX inbound_requests_waiting ON inbound_requests(source_id, ordering_key, sequence) WHERE waiting;
-- The outbox of releases still to publish into app destinations, in release order.
CREATE INDEX inbound_requests_outbox ON inbound_requests(release_seq) WHERE app_pending;
-- Events retention must keep: those of requests still waiting or still to publish.
CREATE INDEX inbound_requests_held_event ON inbound_requests(event_pk) WHERE waiting OR app_pending;

-- Numbers sources' events and releases. Not the app's own counter: every request would then
-- update the app's row and hold its lock until commit, one request per commit (~200/s).
-- Within an ordering key releases are serialised by advisory locks, so numbers taken later
-- are larger there, which is all the ordering needs.
CREATE SEQUENCE inbound_sequence;

CREATE TABLE inbound_dedup (
  source_id  TEXT COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  request_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (source_id, key)
);
CREATE INDEX inbound_dedup_expiry ON inbound_dedup(expires_at);

-- Per source and ordering key: the next sequence to forward, and when a gap stops waiting.
CREATE TABLE inbound_sequences (
  source_id      TEXT COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  key            TEXT NOT NULL,
  next_seq       BIGINT NOT NULL,
  gap_timeout_ms BIGINT NOT NULL,
  gap_deadline   BIGINT,
  PRIMARY KEY (source_id, key)
);
CREATE INDEX inbound_sequences_gap ON inbound_sequences(gap_deadline) WHERE gap_deadline IS NOT NULL;
`,
  },
  {
    version: 4,
    name: 'inbound gateway: processes per source',
    sql: `
-- Which gateway processes took a source's requests lately, refreshed every few seconds by
-- each: a source's rate limit is shared out between them. No foreign key: a row of a deleted
-- source is forgotten with the process rows that went stale.
CREATE TABLE inbound_gateways (
  source_id  TEXT NOT NULL,
  process_id TEXT NOT NULL,
  seen_at    BIGINT NOT NULL,
  PRIMARY KEY (source_id, process_id)
);
CREATE INDEX inbound_gateways_seen ON inbound_gateways(seen_at);
`,
  },
  {
    version: 5,
    name: 'relay listeners per process',
    sql: `
-- Which processes hold a \`herald listen\` socket for a relay endpoint, refreshed every few
-- seconds by each: any process can answer "connected or waiting?" for the API. No foreign key,
-- like inbound_gateways: a deleted endpoint's row goes with its process's next report.
CREATE TABLE relay_listeners (
  endpoint_id  TEXT NOT NULL,
  process_id   TEXT NOT NULL,
  listeners    INTEGER NOT NULL,
  connected_at BIGINT NOT NULL,
  seen_at      BIGINT NOT NULL,
  PRIMARY KEY (endpoint_id, process_id)
);
CREATE INDEX relay_listeners_seen ON relay_listeners(seen_at);
`,
  },
  {
    version: 6,
    name: 'portal sessions',
    sql: `
-- How the customer portal looks for an app's customers, and example payloads of event types.
ALTER TABLE apps ADD COLUMN portal json;
ALTER TABLE event_types ADD COLUMN examples json;

-- One-time links into the customer portal, and the browser sessions of the portal and the
-- operator console. Keyed by the SHA-256 of what the browser holds: a copy of the database
-- opens nothing. A used token stays until it expires, so a second use is told it was used.
CREATE TABLE portal_tokens (
  token_hash   TEXT PRIMARY KEY,
  app_id       TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  capabilities json NOT NULL,
  label        TEXT,
  expires_at   BIGINT NOT NULL,
  created_at   BIGINT NOT NULL,
  used_at      BIGINT
);
CREATE INDEX portal_tokens_app ON portal_tokens(app_id, label);
CREATE INDEX portal_tokens_expiry ON portal_tokens(expires_at);

CREATE TABLE ui_sessions (
  id_hash      TEXT PRIMARY KEY,
  kind         TEXT NOT NULL,
  app_id       TEXT REFERENCES apps(id) ON DELETE CASCADE,
  capabilities json NOT NULL,
  label        TEXT,
  expires_at   BIGINT NOT NULL,
  created_at   BIGINT NOT NULL
);
CREATE INDEX ui_sessions_app ON ui_sessions(app_id, label);
CREATE INDEX ui_sessions_expiry ON ui_sessions(expires_at);

-- The time series of an endpoint's attempts (its dashboard chart), read by time range.
-- Covering: the chart needs nothing else from the row.
CREATE INDEX attempts_endpoint_time ON attempts(endpoint_id, started_at, duration_ms, status_code);

-- The delivery log's filters on a large database (bench/delivery-log.mjs, 1,000,000
-- deliveries: "failed" walked 156,000 rows, an event type that matches nothing all 850,000 of
-- the app's, up to 1 s). Partial where they can be: failed deliveries are few and become
-- failed once, so that index costs nothing at publish or success; the event type never
-- changes, so its index is written once, at publish. Pending ones (the queue) are counted per
-- endpoint and in all by /health and /metrics, which otherwise scanned the table (230 ms).
CREATE INDEX deliveries_app_failed ON deliveries(app_id, id) WHERE status = 'failed';
CREATE INDEX deliveries_endpoint_failed ON deliveries(endpoint_id, id) WHERE status = 'failed';
CREATE INDEX deliveries_app_type ON deliveries(app_id, event_type, id);
CREATE INDEX deliveries_pending ON deliveries(endpoint_id) WHERE status = 'pending';

-- Settings of the database itself. key_check: a value sealed with the encryption key, so a
-- process started with another key (a second host with its own data dir) refuses to start
-- instead of sealing new secrets that the others can't open.
CREATE TABLE herald_settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    version: 7,
    name: 'alerts',
    sql: `
-- Alert rules: a scope (all apps, an app, an endpoint or a source), a condition and channels.
-- channels is sealed like endpoint secrets (Slack URLs are credentials). Deleting what a rule
-- watches deletes the rule.
CREATE TABLE alert_rules (
  id                 TEXT PRIMARY KEY,
  name               TEXT NOT NULL,
  app_id             TEXT REFERENCES apps(id) ON DELETE CASCADE,
  endpoint_id        TEXT REFERENCES endpoints(id) ON DELETE CASCADE,
  source_id          TEXT REFERENCES sources(id) ON DELETE CASCADE,
  condition          json NOT NULL,
  channels           TEXT NOT NULL,
  repeat_seconds     INTEGER,
  enabled            BOOLEAN NOT NULL DEFAULT true,
  state              TEXT NOT NULL DEFAULT 'ok',
  last_transition_at BIGINT,
  last_notified_at   BIGINT,
  last_value         DOUBLE PRECISION,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);
CREATE INDEX alert_rules_app ON alert_rules(app_id, id);
CREATE INDEX alert_rules_endpoint ON alert_rules(endpoint_id);
CREATE INDEX alert_rules_source ON alert_rules(source_id);

-- The last 100 transitions of each rule, with the figures that caused them.
CREATE TABLE alert_history (
  id        BIGSERIAL PRIMARY KEY,
  rule_id   TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
  at        BIGINT NOT NULL,
  kind      TEXT NOT NULL,
  value     DOUBLE PRECISION,
  threshold DOUBLE PRECISION NOT NULL,
  summary   TEXT NOT NULL,
  figures   json NOT NULL
);
CREATE INDEX alert_history_rule ON alert_history(rule_id, id);

-- Notifications to send (email, Slack, webhook), written in the transaction of the transition
-- that caused them. next_attempt_at doubles as the lease of a claim (FOR UPDATE SKIP LOCKED).
CREATE TABLE alert_outbox (
  id              TEXT PRIMARY KEY,
  rule_id         TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
  channel         TEXT NOT NULL,
  message         json NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_error      TEXT,
  created_at      BIGINT NOT NULL
);
CREATE INDEX alert_outbox_due ON alert_outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_outbox_rule ON alert_outbox(rule_id);
`,
  },
  {
    version: 8,
    name: 'filters_and_channels',
    sql: `
-- Payload filters and channels (core/filter.ts). An endpoint's filter and channels are JSON,
-- NULL when it has none; an event's channels are JSON, NULL when published to none. Fan-out
-- reads them from the endpoint cache keyed on updated_at, never per event.
ALTER TABLE endpoints ADD COLUMN filter JSON;
ALTER TABLE endpoints ADD COLUMN channels JSON;
ALTER TABLE events ADD COLUMN channels TEXT;
`,
  },
  {
    version: 9,
    name: 'alert rules: who made them',
    sql: `
-- A rule set by the operator (API key, console) on a customer's app is shown to the customer's
-- portal without its channels (Slack URLs are credentials, addresses are the operator's) and
-- can't be changed from there.
ALTER TABLE alert_rules ADD COLUMN created_by TEXT NOT NULL DEFAULT 'operator';
`,
  },
  {
    version: 10,
    name: 'inbound routes',
    sql: `
-- Which of its source's destinations a request goes to, decided by their filters when it is
-- accepted (inbound/routing.ts): JSON keys, NULL when no destination of the source filters
-- (every one gets it). A request held for an earlier sequence is released to these later.
ALTER TABLE inbound_requests ADD COLUMN routes JSON;
`,
  },
  {
    version: 11,
    name: 'inbound polling',
    sql: `
-- A source's poll configuration (inbound/poller.ts): JSON, its header values sealed; NULL
-- when the source takes webhooks only.
ALTER TABLE sources ADD COLUMN poll JSON;
-- How each request came: 'webhook' (posted by the provider) or 'poll' (found in its changes API).
ALTER TABLE inbound_requests ADD COLUMN via TEXT NOT NULL DEFAULT 'webhook';
-- What polling a source has learned: the cursor (written in the transaction of the page it
-- came with), the schedule, the last outcome, and the lease of the run under way, timed by
-- the database's clock. next_poll_at NULL: due now (never polled, or a run a crash cut short).
CREATE TABLE source_polls (
  source_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
  cursor       TEXT,
  next_poll_at BIGINT,
  last_poll_at BIGINT,
  last_result  JSON,
  failures     INTEGER NOT NULL DEFAULT 0,
  lease_owner  TEXT,
  lease_until  BIGINT
);
`,
  },
  {
    version: 12,
    name: 'payload shapes',
    sql: `
-- An app's envelope profile (core/envelope-profile.ts): JSON, NULL for Herald's own envelope.
ALTER TABLE apps ADD COLUMN envelope_profile JSON;
-- An endpoint's transform: JavaScript source run in a sandbox (transform/); NULL for none.
ALTER TABLE endpoints ADD COLUMN transform TEXT;
-- What the transform made of a delivery on its first run ({url, headers (values sealed), body}
-- as JSON), sent by every retry: NULL when there was none.
ALTER TABLE deliveries ADD COLUMN transformed TEXT;
`,
  },
  {
    version: 13,
    name: 'endpoint changes notify',
    sql: `
-- Every process caches its apps' active endpoints for publishes (store.ts activeEndpoints) and
-- starts over on herald_config. Fired by the rows themselves, so no statement can forget it: an
-- endpoint added or deleted, or its status, circuit or configuration (updated_at) changed.
-- Health counters alone (endpointHealth, about once a second per endpoint) don't fire it.
CREATE FUNCTION herald_endpoint_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('herald_config', TG_TABLE_SCHEMA);
  RETURN NULL;
END $$;
CREATE TRIGGER endpoints_added_or_deleted AFTER INSERT OR DELETE ON endpoints
  FOR EACH ROW EXECUTE FUNCTION herald_endpoint_changed();
CREATE TRIGGER endpoints_changed AFTER UPDATE ON endpoints FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.circuit_state IS DISTINCT FROM NEW.circuit_state
        OR OLD.updated_at IS DISTINCT FROM NEW.updated_at)
  EXECUTE FUNCTION herald_endpoint_changed();
`,
  },
];


/**
 * Applies the missing migrations. Several processes may start at once on an empty database:
 * a session-level advisory lock (per schema) lets one migrate while the others wait, and each
 * re-reads the applied versions once it holds the lock, so every migration runs exactly once.
 * The lock is held across the transactions of the whole run and released at the end.
 */
export async function runMigrations(client: pg.PoolClient, schema: string): Promise<void> {
  const ident = `"${schema}"`;
  await client.query(`SELECT pg_advisory_lock(hashtextextended('herald_migrations:' || $1::text, 0))`, [schema]);
  try {
    // Looked up first: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database, which a
    // role confined to an existing schema (public, say) doesn't have.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${ident}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${ident}.herald_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${ident}.herald_migrations`);
    const applied = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(`INSERT INTO ${ident}.herald_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [
          m.version, m.name, Date.now(),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtextextended('herald_migrations:' || $1::text, 0))`, [schema]);
  }
}
