import type { Migration } from '../migration.js';
/**
 * Numbered SQLite migrations. Each runs in its own IMMEDIATE transaction together with
 * its row in herald_migrations, so a crash mid-migration leaves the previous version.
 * Never edit a released migration: add the next number.
 */

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
CREATE TABLE apps (
  id            TEXT PRIMARY KEY,
  uid           TEXT UNIQUE,
  name          TEXT NOT NULL,
  metadata      TEXT NOT NULL DEFAULT '{}',
  last_sequence INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE event_types (
  name        TEXT PRIMARY KEY,
  description TEXT,
  schema      TEXT,
  archived    INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE endpoints (
  id                   TEXT PRIMARY KEY,
  app_id               TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  url                  TEXT NOT NULL,
  description          TEXT,
  events               TEXT,
  status               TEXT NOT NULL,
  disabled_reason      TEXT,
  disabled_at          INTEGER,
  secret               TEXT NOT NULL,
  headers              TEXT NOT NULL DEFAULT '{}',
  retry_schedule       TEXT,
  timeout_ms           INTEGER,
  metadata             TEXT NOT NULL DEFAULT '{}',
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_attempt_at      INTEGER,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
);
CREATE INDEX endpoints_app ON endpoints(app_id, id);

CREATE TABLE events (
  pk              INTEGER PRIMARY KEY,
  app_id          TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  id              TEXT NOT NULL,
  type            TEXT NOT NULL,
  timestamp       INTEGER NOT NULL,
  sequence        INTEGER NOT NULL,
  idempotency_key TEXT,
  body            TEXT NOT NULL,
  deliveries      INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_app_id ON events(app_id, id);
CREATE UNIQUE INDEX events_app_sequence ON events(app_id, sequence);
CREATE UNIQUE INDEX events_app_idempotency ON events(app_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE deliveries (
  id               TEXT PRIMARY KEY,
  app_id           TEXT NOT NULL,
  endpoint_id      TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  event_pk         INTEGER NOT NULL REFERENCES events(pk) ON DELETE CASCADE,
  event_id         TEXT NOT NULL,
  event_type       TEXT NOT NULL,
  status           TEXT NOT NULL,
  attempt_count    INTEGER NOT NULL DEFAULT 0,
  one_shot         INTEGER NOT NULL DEFAULT 0,
  last_status_code INTEGER,
  last_error       TEXT,
  next_attempt_at  INTEGER,
  lease_owner      TEXT,
  created_at       INTEGER NOT NULL,
  last_attempt_at  INTEGER,
  delivered_at     INTEGER
) WITHOUT ROWID;
-- WITHOUT ROWID: rows are small (~150 bytes) and always found by id, so the table is the
-- id index itself, one b-tree write fewer per insert and per update.
-- The claim query walks this partial index in due order. Only deliveries waiting for a worker
-- are in it: a claim (or a publish that hands a delivery straight to the local worker) sets
-- lease_owner, which takes the row out, and finishing it then touches no index at all.
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending' AND lease_owner IS NULL;
CREATE INDEX deliveries_app ON deliveries(app_id, id);
CREATE INDEX deliveries_endpoint ON deliveries(endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries(event_pk);

-- Attempts are only ever read per delivery, so (delivery_id, number) is the whole table:
-- one b-tree write per attempt. Endpoint stats reach attempts through deliveries_endpoint.
CREATE TABLE attempts (
  delivery_id   TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  number        INTEGER NOT NULL,
  id            TEXT NOT NULL,
  endpoint_id   TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  duration_ms   INTEGER NOT NULL,
  status_code   INTEGER,
  response_body TEXT,
  error         TEXT,
  PRIMARY KEY (delivery_id, number)
) WITHOUT ROWID;
`,
  },
  {
    version: 2,
    name: 'endpoint health, throttling, ordering keys, rotation, signature profiles',
    sql: `
ALTER TABLE apps ADD COLUMN signature_profile TEXT;

ALTER TABLE endpoints ADD COLUMN previous_secrets TEXT;
ALTER TABLE endpoints ADD COLUMN rate_limit REAL;
ALTER TABLE endpoints ADD COLUMN max_in_flight INTEGER;
ALTER TABLE endpoints ADD COLUMN disable_after_failures INTEGER;
ALTER TABLE endpoints ADD COLUMN disable_after_seconds INTEGER;
ALTER TABLE endpoints ADD COLUMN failing_since INTEGER;
ALTER TABLE endpoints ADD COLUMN circuit_state TEXT NOT NULL DEFAULT 'closed';
ALTER TABLE endpoints ADD COLUMN circuit_until INTEGER;
ALTER TABLE endpoints ADD COLUMN circuit_since INTEGER;

CREATE INDEX endpoints_circuit ON endpoints(circuit_until) WHERE circuit_state <> 'closed';

ALTER TABLE events ADD COLUMN ordering_key TEXT;
ALTER TABLE deliveries ADD COLUMN ordering_key TEXT;
ALTER TABLE deliveries ADD COLUMN event_seq INTEGER;

-- Per endpoint and ordering key, the pending deliveries in publish order: finding whether a
-- key has one in progress, and the next to release when it finishes. Unkeyed deliveries
-- never enter it, so ordering costs nothing to those who don't use it.
CREATE INDEX deliveries_ordering ON deliveries(endpoint_id, ordering_key, event_seq)
  WHERE ordering_key IS NOT NULL AND status = 'pending';

-- Deliveries held back (endpoint disabled or circuit open), per endpoint, to release them
-- gradually. The constants are PARKED_AT and ORDER_HELD_AT; queries must repeat them.
CREATE INDEX deliveries_held ON deliveries(endpoint_id, next_attempt_at)
  WHERE status = 'pending' AND next_attempt_at >= 8000000000000000 AND next_attempt_at < 9000000000000000;
`,
  },
  {
    version: 3,
    name: 'inbound gateway: sources, request log, dedup keys, sequences',
    sql: `
-- A source's accepted requests are events of its own app, holding the raw bytes (any content
-- type) and the original headers forwarded with them.
ALTER TABLE events ADD COLUMN raw BLOB;
ALTER TABLE events ADD COLUMN headers TEXT;

CREATE TABLE sources (
  id              TEXT PRIMARY KEY,
  app_id          TEXT NOT NULL UNIQUE REFERENCES apps(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  verification    TEXT NOT NULL,
  dedup           TEXT,
  ordering        TEXT,
  destinations    TEXT NOT NULL,
  forward_headers TEXT,
  rate_limit      REAL,
  response        TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);

-- The request log: every request a source received, accepted or not. Not tied to events by a
-- foreign key: retention prunes both, and a cascade would need another index to find rows.
CREATE TABLE inbound_requests (
  source_id    TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  id           TEXT NOT NULL,
  status       TEXT NOT NULL,
  reason       TEXT,
  detail       TEXT,
  received_at  INTEGER NOT NULL,
  headers      TEXT NOT NULL,
  content_type TEXT,
  body_size    INTEGER NOT NULL,
  dedup_key    TEXT,
  ordering_key TEXT,
  sequence     INTEGER,
  event_pk     INTEGER,
  waiting      INTEGER NOT NULL DEFAULT 0,
  release_seq  INTEGER,
  app_pending  INTEGER NOT NULL DEFAULT 0,
  app_error    TEXT,
  gap_from     INTEGER,
  gap_to       INTEGER,
  PRIMARY KEY (source_id, id)
) WITHOUT ROWID;
-- WITHOUT ROWID on (source_id, id): every lookup and listing is per source by id (ids are
-- time-ordered), so the table is that index itself: one b-tree write per request, not three.
-- Requests held for a missing earlier sequence, per key in sequence order.
CREATE INDEX inbound_requests_waiting ON inbound_requests(source_id, ordering_key, sequence) WHERE waiting = 1;
-- The outbox of releases still to publish into app destinations, in release order.
CREATE INDEX inbound_requests_outbox ON inbound_requests(release_seq) WHERE app_pending = 1;
-- Events retention must keep: those of requests still waiting or still to publish.
CREATE INDEX inbound_requests_held_event ON inbound_requests(event_pk) WHERE waiting = 1 OR app_pending = 1;

CREATE TABLE inbound_dedup (
  source_id  TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  request_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (source_id, key)
) WITHOUT ROWID;
CREATE INDEX inbound_dedup_expiry ON inbound_dedup(expires_at);

-- Per source and ordering key: the next sequence to forward, and when a gap stops waiting.
CREATE TABLE inbound_sequences (
  source_id      TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  key            TEXT NOT NULL,
  next_seq       INTEGER NOT NULL,
  gap_timeout_ms INTEGER NOT NULL,
  gap_deadline   INTEGER,
  PRIMARY KEY (source_id, key)
) WITHOUT ROWID;
CREATE INDEX inbound_sequences_gap ON inbound_sequences(gap_deadline) WHERE gap_deadline IS NOT NULL;
`,
  },
  {
    version: 4,
    name: 'portal sessions',
    sql: `
-- How the customer portal looks for an app's customers, and example payloads of event types.
ALTER TABLE apps ADD COLUMN portal TEXT;
ALTER TABLE event_types ADD COLUMN examples TEXT;

-- One-time links into the customer portal, and the browser sessions of the portal and the
-- operator console. Keyed by the SHA-256 of what the browser holds: a copy of the database
-- opens nothing. A used token stays until it expires, so a second use is told it was used.
CREATE TABLE portal_tokens (
  token_hash   TEXT PRIMARY KEY,
  app_id       TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  capabilities TEXT NOT NULL,
  label        TEXT,
  expires_at   INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  used_at      INTEGER
) WITHOUT ROWID;
CREATE INDEX portal_tokens_app ON portal_tokens(app_id, label);
CREATE INDEX portal_tokens_expiry ON portal_tokens(expires_at);

CREATE TABLE ui_sessions (
  id_hash      TEXT PRIMARY KEY,
  kind         TEXT NOT NULL,
  app_id       TEXT REFERENCES apps(id) ON DELETE CASCADE,
  capabilities TEXT NOT NULL,
  label        TEXT,
  expires_at   INTEGER NOT NULL,
  created_at   INTEGER NOT NULL
) WITHOUT ROWID;
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
    version: 5,
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
  condition          TEXT NOT NULL,
  channels           TEXT NOT NULL,
  repeat_seconds     INTEGER,
  enabled            INTEGER NOT NULL DEFAULT 1,
  state              TEXT NOT NULL DEFAULT 'ok',
  last_transition_at INTEGER,
  last_notified_at   INTEGER,
  last_value         REAL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);
CREATE INDEX alert_rules_app ON alert_rules(app_id, id);
-- Deleting an endpoint or a source finds its rules by these (the cascade).
CREATE INDEX alert_rules_endpoint ON alert_rules(endpoint_id);
CREATE INDEX alert_rules_source ON alert_rules(source_id);

-- The last 100 transitions of each rule, with the figures that caused them.
CREATE TABLE alert_history (
  id        INTEGER PRIMARY KEY,
  rule_id   TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
  at        INTEGER NOT NULL,
  kind      TEXT NOT NULL,
  value     REAL,
  threshold REAL NOT NULL,
  summary   TEXT NOT NULL,
  figures   TEXT NOT NULL
);
CREATE INDEX alert_history_rule ON alert_history(rule_id, id);

-- Notifications to send (email, Slack, webhook), written in the transaction of the transition
-- that caused them. next_attempt_at doubles as the lease of a claim.
CREATE TABLE alert_outbox (
  id              TEXT PRIMARY KEY,
  rule_id         TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
  channel         TEXT NOT NULL,
  message         TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL
);
CREATE INDEX alert_outbox_due ON alert_outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_outbox_rule ON alert_outbox(rule_id);
`,
  },
  {
    version: 6,
    name: 'filters_and_channels',
    sql: `
-- Payload filters and channels (core/filter.ts). An endpoint's filter and channels are JSON,
-- NULL when it has none; an event's channels are JSON, NULL when published to none. Fan-out
-- reads them from the endpoint cache keyed on updated_at, never per event.
ALTER TABLE endpoints ADD COLUMN filter TEXT;
ALTER TABLE endpoints ADD COLUMN channels TEXT;
ALTER TABLE events ADD COLUMN channels TEXT;
`,
  },
  {
    version: 7,
    name: 'alert rules: who made them',
    sql: `
-- A rule set by the operator (API key, console) on a customer's app is shown to the customer's
-- portal without its channels (Slack URLs are credentials, addresses are the operator's) and
-- can't be changed from there.
ALTER TABLE alert_rules ADD COLUMN created_by TEXT NOT NULL DEFAULT 'operator';
`,
  },
  {
    version: 8,
    name: 'inbound routes',
    sql: `
-- Which of its source's destinations a request goes to, decided by their filters when it is
-- accepted (inbound/routing.ts): JSON keys, NULL when no destination of the source filters
-- (every one gets it). A request held for an earlier sequence is released to these later.
ALTER TABLE inbound_requests ADD COLUMN routes TEXT;
`,
  },
  {
    version: 9,
    name: 'inbound polling',
    sql: `
-- A source's poll configuration (inbound/poller.ts): JSON, its header values sealed; NULL
-- when the source takes webhooks only.
ALTER TABLE sources ADD COLUMN poll TEXT;
-- How each request came: 'webhook' (posted by the provider) or 'poll' (found in its changes API).
ALTER TABLE inbound_requests ADD COLUMN via TEXT NOT NULL DEFAULT 'webhook';
-- What polling a source has learned: the cursor (written in the transaction of the page it
-- came with), the schedule, the last outcome, and the lease of the run under way.
-- next_poll_at NULL: due now (never polled, or a run a crash cut short).
CREATE TABLE source_polls (
  source_id    TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
  cursor       TEXT,
  next_poll_at INTEGER,
  last_poll_at INTEGER,
  last_result  TEXT,
  failures     INTEGER NOT NULL DEFAULT 0,
  lease_owner  TEXT,
  lease_until  INTEGER
) WITHOUT ROWID;
`,
  },
  {
    version: 10,
    name: 'payload shapes',
    sql: `
-- An app's envelope profile (core/envelope-profile.ts): JSON, NULL for Herald's own envelope.
ALTER TABLE apps ADD COLUMN envelope_profile TEXT;
-- An endpoint's transform: JavaScript source run in a sandbox (transform/); NULL for none.
ALTER TABLE endpoints ADD COLUMN transform TEXT;
-- What the transform made of a delivery on its first run ({url, headers (values sealed), body}
-- as JSON), sent by every retry: NULL when there was none.
ALTER TABLE deliveries ADD COLUMN transformed TEXT;
`,
  },
];
