/**
 * Every SQL statement of the PostgreSQL backend, grouped by area, as parameterised text.
 * Parameters are written `:name` and compiled once, at load, to `$1…$n` (see `compile`), so a
 * call binds an object like SQLite's `@name` and the text stays readable. Each statement runs
 * as a named prepared statement: parsed and planned once per connection.
 *
 * Batches travel as arrays (`:ids::text[]`) unnested server-side, so a batch of 500 is one
 * statement, not 500: the hot paths cost a constant number of round trips per batch.
 */
import { POLL_TEXT } from './poll-sql.js';
import { TRANSFORM_TEXT } from './transform-sql.js';

// The sentinels of types.ts (PARKED_AT, ORDER_HELD_AT) spelled out, so that the partial index
// deliveries_held, whose WHERE repeats them, is usable by the statements below.
const PARKED = '8000000000000000';
const ORDER_HELD = '9000000000000000';
const HELD_RANGE = `next_attempt_at >= ${PARKED} AND next_attempt_at < ${ORDER_HELD}`;

const FILTERS = `AND (:endpoint_id::text IS NULL OR endpoint_id = :endpoint_id)
  AND (:event_id::text IS NULL OR event_id = :event_id)
  AND (:event_type::text IS NULL OR event_type = :event_type)
  AND (:status::text IS NULL OR status = :status)`;

// What a worker needs besides the delivery row, read in the statement that claims it (a
// source's request: its raw bytes and forwarded headers, NULL for published events). The
// endpoint (~30 columns) comes once per endpoint in the batch, as one JSON value on the first
// of its rows, instead of 500 times over; the window's order matches the outer ORDER BY so
// "first" is the first row the caller reads. Expects a CTE `claimed` (CLAIMED_COLUMNS): its
// due_at comes through the UPDATE's RETURNING from the `due` CTE, because joining `due` again
// made the generic plan (which guesses 1 row for LIMIT $n) nest-loop 500 × 500 rows: 27 ms.
const HYDRATE = `
  SELECT c.id, c.app_id, c.endpoint_id, c.event_id, c.event_type, c.ordering_key, c.attempt_count, c.one_shot, e.body,
    e.raw, e.headers,
    CASE WHEN row_number() OVER (PARTITION BY c.endpoint_id ORDER BY c.due_at, c.id) = 1
         THEN row_to_json(ep) END AS endpoint,
    a.signature_profile AS profile
  FROM claimed c
  JOIN events e ON e.pk = c.event_pk
  JOIN endpoints ep ON ep.id = c.endpoint_id
  JOIN apps a ON a.id = c.app_id
  ORDER BY c.due_at, c.id`;
const CLAIMED_COLUMNS = 'd.id, d.app_id, d.endpoint_id, d.event_pk, d.event_id, d.event_type, d.ordering_key, d.attempt_count, d.one_shot, due.due_at';

// Serialises the "is this ordering key busy?" check of a publish with the "release the next
// of this key" step of recordOutcomes, across processes: without it a completion committing
// while a publish inserts a successor leaves each blind to the other's uncommitted row, and
// the successor stays held forever. Locks are transaction-scoped and taken in hash order, so
// two batches with overlapping keys queue instead of deadlocking. It must be a statement of
// its own: under READ COMMITTED the next statement's snapshot is taken after the lock is held,
// so it sees what the previous holder committed. A hash collision only serialises two keys.
const LOCK_KEYS = `SELECT pg_advisory_xact_lock(k) FROM (
    SELECT DISTINCT hashtextextended(e || ':' || k, 0) AS k
    FROM unnest(:endpoint_ids::text[], :keys::text[]) AS t(e, k) ORDER BY 1) s`;

// One (source, ordering key) of the inbound gateway at a time, across processes: the sequence
// state is read and written under it (ingest waits for it; releaseGaps only tries it). A
// statement of its own, for the same reason as LOCK_KEYS. Seeded by the source so that no
// separator can make two pairs spell the same text.
//
// The inbound locks are taken in one order everywhere: the source's advisory lock (shared by
// writers of its request log, exclusive for deleteSource), the source's row (KEY SHARE, as any
// foreign key check of its requests takes it anyway), the key's advisory lock, the destination
// endpoints' rows (KEY SHARE, destinationStatuses), then the (endpoint, key) locks. deleteSource takes the source's locks first too, so it waits for
// ingests under way instead of deadlocking with them over the app's row (which their events'
// foreign keys share-lock). Gap releases take no advisory lock of the source: deleteSource
// waits for the KEY SHARE their row lock (dueGap) holds on the source's row. The source's advisory lock is there because row locks don't queue:
// a delete waiting for the row would wait for as long as any ingest holds a KEY SHARE on it,
// which under steady traffic is for ever (measured: until the traffic stopped), whereas a
// heavyweight lock queues later shared requests behind a waiting exclusive one.
const sourceLock = (fn: 'pg_advisory_xact_lock' | 'pg_advisory_xact_lock_shared') =>
  `${fn}(hashtextextended('herald_source:' || :source_id, 0))`;
// The same, for each source `s.id` of a group, in the group's order.
const groupSourceLock = `pg_advisory_xact_lock_shared(hashtextextended('herald_source:' || s.id, 0))`;
const sourceKeyHash = (sourceId: string, key: string) =>
  `hashtextextended(${key}, hashtextextended('herald_inbound:' || ${sourceId}, 0))`;

const TEXT = {
  ...POLL_TEXT,
  ...TRANSFORM_TEXT,
  // ── apps ──────────────────────────────────────────────────────────────
  insertApp: `INSERT INTO apps (id, uid, name, metadata, signature_profile, envelope_profile, portal, created_at, updated_at)
              VALUES (:id, :uid, :name, :metadata, :signature_profile, :envelope_profile, :portal, :now, :now) RETURNING *`,
  appByIdOrUid: `SELECT apps.*, (SELECT id FROM sources WHERE sources.app_id = apps.id) AS source_id
                 FROM apps WHERE id = :key OR uid = :key LIMIT 1`,
  // Sources' own apps and the alerts app (ALERTS_APP_ID) are internal: reachable by id, not listed.
  listApps: `SELECT * FROM apps WHERE id > :after AND id NOT IN (SELECT app_id FROM sources) AND id <> 'app_herald_alerts' ORDER BY id LIMIT :limit`,
  updateApp: `UPDATE apps SET name = :name, uid = :uid, metadata = :metadata, signature_profile = :signature_profile,
              envelope_profile = :envelope_profile, portal = :portal, updated_at = :now WHERE id = :id RETURNING *`,
  // Deliveries before the cascade from the app: it would lock endpoints and then deliveries,
  // while recordOutcomes locks deliveries and then endpoints (a deadlock, resolved by the
  // retry, but only after deadlock_timeout).
  deleteAppDeliveries: `DELETE FROM deliveries WHERE app_id = :id`,
  deleteApp: `DELETE FROM apps WHERE id = :id`,

  // ── event types ───────────────────────────────────────────────────────
  insertEventType: `INSERT INTO event_types (name, description, schema, examples, created_at, updated_at)
                    VALUES (:name, :description, :schema, :examples, :now, :now) RETURNING *`,
  eventType: `SELECT * FROM event_types WHERE name = :name`,
  listEventTypes: `SELECT * FROM event_types WHERE name > :after AND (:all::boolean OR NOT archived)
                   ORDER BY name LIMIT :limit`,
  updateEventType: `UPDATE event_types SET description = :description, schema = :schema, examples = :examples, archived = :archived,
                    updated_at = :now WHERE name = :name RETURNING *`,

  // ── endpoints ─────────────────────────────────────────────────────────
  insertEndpoint: `INSERT INTO endpoints (id, app_id, url, description, events, filter, channels, status, disabled_at, disabled_reason,
                     secret, headers, retry_schedule, timeout_ms, rate_limit, max_in_flight, disable_after_failures,
                     disable_after_seconds, metadata, transform, created_at, updated_at)
                   VALUES (:id, :app_id, :url, :description, :events, :filter, :channels, :status, :disabled_at, :disabled_reason,
                     :secret, :headers, :retry_schedule, :timeout_ms, :rate_limit, :max_in_flight, :disable_after_failures,
                     :disable_after_seconds, :metadata, :transform, :now, :now) RETURNING *`,
  endpoint: `SELECT * FROM endpoints WHERE app_id = :app_id AND id = :id`,
  // Read-modify-write of an endpoint (update, rotation) holds its row until commit.
  endpointForUpdate: `SELECT * FROM endpoints WHERE app_id = :app_id AND id = :id FOR UPDATE`,
  endpointById: `SELECT * FROM endpoints WHERE id = :id`,
  listEndpoints: `SELECT * FROM endpoints WHERE app_id = :app_id AND id > :after
                  AND (:status::text IS NULL OR status = :status) ORDER BY id LIMIT :limit`,
  activeEndpoints: `SELECT * FROM endpoints WHERE app_id = :app_id AND status = 'active' ORDER BY id`,
  updateEndpoint: `UPDATE endpoints SET url = :url, description = :description, events = :events, status = :status,
                     filter = :filter, channels = :channels, transform = :transform,
                     disabled_reason = :disabled_reason, disabled_at = :disabled_at, headers = :headers,
                     retry_schedule = :retry_schedule, timeout_ms = :timeout_ms, rate_limit = :rate_limit,
                     max_in_flight = :max_in_flight, disable_after_failures = :disable_after_failures,
                     disable_after_seconds = :disable_after_seconds, metadata = :metadata,
                     consecutive_failures = :consecutive_failures, failing_since = :failing_since,
                     circuit_state = :circuit_state, circuit_until = :circuit_until,
                     updated_at = GREATEST(:now, updated_at + 1)
                   WHERE app_id = :app_id AND id = :id RETURNING *`,
  rotateSecret: `UPDATE endpoints SET secret = :secret, previous_secrets = :previous_secrets,
                   updated_at = GREATEST(:now, updated_at + 1)
                 WHERE app_id = :app_id AND id = :id RETURNING *`,
  deleteEndpointDeliveries: `DELETE FROM deliveries WHERE endpoint_id = :id AND app_id = :app_id`,
  deleteEndpoint: `DELETE FROM endpoints WHERE app_id = :app_id AND id = :id`,
  // Health after a batch of attempts, every endpoint of the batch in one statement: a success
  // resets the run of failures; failures extend it. The caller sees thresholds being crossed
  // from the counts before (its own input) and after (RETURNING).
  endpointHealth: `UPDATE endpoints e SET
                     consecutive_failures = CASE WHEN h.reset THEN h.fails ELSE e.consecutive_failures + h.fails END,
                     failing_since = CASE WHEN h.fails = 0 THEN NULL
                                          WHEN h.reset OR e.failing_since IS NULL THEN h.first_failure
                                          ELSE e.failing_since END,
                     last_attempt_at = GREATEST(COALESCE(e.last_attempt_at, 0), h.at)
                   FROM unnest(:ids::text[], :resets::boolean[], :fails::int[], :first_failures::bigint[], :ats::bigint[])
                     AS h(id, reset, fails, first_failure, at)
                   WHERE e.id = h.id
                     -- A healthy endpoint's row is only touched about once a second: every worker
                     -- rewriting it per batch serialised them on its row lock (4 workers: 9k/s → 2k/s).
                     AND (h.fails > 0 OR e.consecutive_failures <> 0 OR e.circuit_state <> 'closed'
                          OR e.last_attempt_at IS NULL OR e.last_attempt_at < h.at - 1000)
                   RETURNING e.id, e.app_id, e.consecutive_failures, e.failing_since, e.status, e.circuit_state,
                     e.circuit_since, e.disable_after_failures, e.disable_after_seconds`,
  // updated_at only ever grows (as in SQLite): a worker may cache endpoint configuration by it.
  disableEndpoint: `UPDATE endpoints SET status = 'disabled', disabled_reason = :reason, disabled_at = :now,
                      updated_at = GREATEST(:now, updated_at + 1) WHERE id = :id AND status = 'active' RETURNING app_id`,
  // circuit_since marks when the current state began; open ⇄ half_open is one outage, so it
  // keeps the outage's start (the probe cooldown grows with it).
  setCircuit: `UPDATE endpoints SET circuit_state = :state, circuit_until = :until,
                 circuit_since = CASE WHEN circuit_state = :state
                                        OR (circuit_state IN ('open', 'half_open') AND :state IN ('open', 'half_open'))
                                      THEN circuit_since ELSE :now END
               WHERE id = :id RETURNING *`,
  // SKIP LOCKED: a circuit another worker is taking right now is its business. One that was
  // taken and committed since this statement's snapshot is re-checked under the row lock, finds
  // circuit_until moved to that worker's lease, and drops out: one worker acts per endpoint.
  dueCircuits: `WITH due AS (
                  SELECT id FROM endpoints WHERE circuit_state <> 'closed' AND circuit_until <= :now AND status = 'active'
                  ORDER BY circuit_until LIMIT :limit FOR UPDATE SKIP LOCKED)
                UPDATE endpoints e SET circuit_until = :lease_until FROM due WHERE e.id = due.id RETURNING e.*`,
  // Hold back an endpoint's waiting deliveries (disabled, or circuit opened). Deliveries
  // waiting on an ordering key stay as they are so their order survives. Leased ones are left
  // to their worker, which sees the endpoint's state and hands them back parked.
  holdEndpoint: `UPDATE deliveries SET next_attempt_at = ${PARKED}
                 WHERE endpoint_id = :id AND status = 'pending' AND lease_owner IS NULL AND next_attempt_at < ${PARKED}`,
  // Release held-back deliveries oldest first; a NULL limit releases all.
  releaseHeld: `UPDATE deliveries SET next_attempt_at = :now
                WHERE id IN (SELECT id FROM deliveries WHERE endpoint_id = :id AND status = 'pending'
                             AND lease_owner IS NULL AND ${HELD_RANGE} ORDER BY next_attempt_at LIMIT :limit
                             FOR UPDATE SKIP LOCKED)`,
  claimHeld: `WITH due AS (
                SELECT d.ctid, d.id, d.next_attempt_at AS due_at FROM deliveries d
                WHERE d.endpoint_id = :id AND d.status = 'pending' AND d.lease_owner IS NULL AND ${HELD_RANGE.replace(/next_attempt_at/g, 'd.next_attempt_at')}
                  AND EXISTS (SELECT 1 FROM endpoints WHERE id = :id AND status = 'active' AND circuit_state = 'closed')
                ORDER BY d.next_attempt_at, d.id LIMIT :limit FOR UPDATE OF d SKIP LOCKED),
              claimed AS (
                UPDATE deliveries d SET lease_owner = :owner, next_attempt_at = :lease_until
                FROM due WHERE d.ctid = due.ctid RETURNING ${CLAIMED_COLUMNS})
              ${HYDRATE}`,
  claimProbe: `WITH due AS (
                 SELECT ctid, id, next_attempt_at AS due_at FROM deliveries WHERE endpoint_id = :id AND status = 'pending'
                 AND lease_owner IS NULL AND ${HELD_RANGE} ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED),
               claimed AS (
                 UPDATE deliveries d SET lease_owner = :owner, next_attempt_at = :lease_until
                 FROM due WHERE d.ctid = due.ctid RETURNING ${CLAIMED_COLUMNS})
               ${HYDRATE}`,

  // ── events ────────────────────────────────────────────────────────────
  eventById: `SELECT * FROM events WHERE app_id = :app_id AND id = :id`,
  // Existing events among a batch, by id or idempotency key, in one read.
  eventsByIdOrKey: `SELECT * FROM events WHERE app_id = :app_id AND id = ANY(:ids::text[])
                    UNION ALL
                    SELECT * FROM events WHERE app_id = :app_id AND idempotency_key = ANY(:keys::text[])`,
  // Taken first in every publish: publishes of one app queue here, so sequences are gapless
  // and strictly increasing, and the duplicate lookup that follows (a new statement, so a new
  // snapshot) sees every event an earlier publish of the app committed. That is what stops
  // two processes publishing the same id from both creating it; the unique indexes back it up.
  lockApp: `SELECT last_sequence FROM apps WHERE id = :app_id FOR UPDATE`,
  // A batch's events, their deliveries and the app's sequence counter in one statement.
  // Deliveries find their event's pk through the events CTE's RETURNING, joined on the id.
  insertBatch: `WITH ev AS (
                  INSERT INTO events (app_id, id, type, timestamp, sequence, idempotency_key, ordering_key, channels, body,
                    deliveries, created_at)
                  SELECT :app_id::text, t.*, :now::bigint
                  FROM unnest(:ids::text[], :types::text[], :timestamps::bigint[], :sequences::bigint[],
                    :idempotency_keys::text[], :ordering_keys::text[], :channels::text[], :bodies::text[], :counts::int[]) AS t
                  RETURNING pk, id, type, ordering_key, sequence),
                seq AS (UPDATE apps SET last_sequence = :last_sequence WHERE id = :app_id)
                INSERT INTO deliveries (id, app_id, endpoint_id, event_pk, event_id, event_type, status,
                  next_attempt_at, lease_owner, ordering_key, event_seq, created_at)
                SELECT d.id, :app_id, d.endpoint_id, ev.pk, ev.id, ev.type, 'pending', d.next_attempt_at, d.lease_owner,
                  ev.ordering_key, ev.sequence, :now
                FROM unnest(:delivery_ids::text[], :delivery_events::text[], :endpoint_ids::text[],
                  :next_attempt_ats::bigint[], :lease_owners::text[]) AS d(id, event_id, endpoint_id, next_attempt_at, lease_owner)
                JOIN ev ON ev.id = d.event_id`,
  listEvents: `SELECT * FROM events WHERE app_id = :app_id AND sequence > :after
               AND (:type::text IS NULL OR type = :type) ORDER BY sequence LIMIT :limit`,

  // ── deliveries ────────────────────────────────────────────────────────
  lockKeys: LOCK_KEYS,
  // Which (endpoint, key) pairs have a pending delivery: a new one of a busy key waits its turn.
  busyKeys: `SELECT k.e AS endpoint_id, k.k AS ordering_key FROM unnest(:endpoint_ids::text[], :keys::text[]) AS k(e, k)
             WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.endpoint_id = k.e AND d.ordering_key = k.k
                           AND d.status = 'pending')`,
  // After keyed deliveries finished for good: release the next one of each key, unless another
  // of the key is still under way (a manual retry of an old one, say). Runs after the batch's
  // delivery updates, in a statement of its own, so it sees them.
  releaseNextInOrder: `UPDATE deliveries d SET next_attempt_at = :now
                       FROM unnest(:endpoint_ids::text[], :keys::text[]) AS k(e, k),
                       LATERAL (SELECT id FROM deliveries WHERE endpoint_id = k.e AND ordering_key = k.k
                                AND status = 'pending' AND next_attempt_at = ${ORDER_HELD} ORDER BY event_seq LIMIT 1) nxt
                       WHERE d.id = nxt.id
                       AND NOT EXISTS (SELECT 1 FROM deliveries WHERE endpoint_id = k.e AND ordering_key = k.k
                                       AND status = 'pending' AND next_attempt_at <> ${ORDER_HELD})`,
  delivery: `SELECT * FROM deliveries WHERE app_id = :app_id AND id = :id`,
  deliveryForUpdate: `SELECT status, lease_owner, next_attempt_at FROM deliveries WHERE app_id = :app_id AND id = :id FOR UPDATE`,
  attemptsOf: `SELECT * FROM attempts WHERE delivery_id = :id ORDER BY number`,
  // Listing filters are optional; a NULL parameter disables its condition. One variant per
  // index (app, endpoint, event), because an `x IS NULL OR col = x` condition can't use an index.
  listDeliveries: `SELECT * FROM deliveries WHERE app_id = :app_id AND id < :before ${FILTERS}
                   ORDER BY id DESC LIMIT :limit`,
  // Filters with an index of their own (see migration 'portal sessions'); SQLite is told
  // which, as its planner would otherwise walk deliveries_app for the ORDER BY.
  listFailedDeliveries: `SELECT * FROM deliveries WHERE app_id = :app_id AND status = 'failed' AND id < :before
                   ${FILTERS} ORDER BY id DESC LIMIT :limit`,
  listFailedDeliveriesByEndpoint: `SELECT * FROM deliveries WHERE endpoint_id = :endpoint_id AND status = 'failed'
                   AND id < :before AND app_id = :app_id ${FILTERS} ORDER BY id DESC LIMIT :limit`,
  listDeliveriesByType: `SELECT * FROM deliveries WHERE app_id = :app_id AND event_type = :event_type
                   AND id < :before ${FILTERS} ORDER BY id DESC LIMIT :limit`,
  listDeliveriesByEndpoint: `SELECT * FROM deliveries WHERE endpoint_id = :endpoint_id AND id < :before
                   AND app_id = :app_id ${FILTERS} ORDER BY id DESC LIMIT :limit`,
  listDeliveriesByEvent: `SELECT * FROM deliveries
                   WHERE event_pk = (SELECT pk FROM events WHERE app_id = :app_id AND id = :event_id)
                   AND id < :before AND app_id = :app_id ${FILTERS} ORDER BY id DESC LIMIT :limit`,
  scheduleNow: `UPDATE deliveries SET next_attempt_at = :now, lease_owner = NULL WHERE id = :id`,
  reopen: `UPDATE deliveries SET status = 'pending', one_shot = true, next_attempt_at = :now, lease_owner = NULL WHERE id = :id`,
  recover: `UPDATE deliveries SET status = 'pending', one_shot = true, next_attempt_at = :now, lease_owner = NULL
            WHERE endpoint_id = :endpoint_id AND status = 'failed' AND created_at >= :since AND created_at < :until`,
  // Per time bucket and outcome, attempts counted by response time rounded to ≤10 % (exact
  // below 100 ms): percentiles come from these counts, and a day of a busy endpoint's
  // attempts comes back as a few thousand rows instead of a million.
  pendingOf: `SELECT COUNT(*) AS n FROM deliveries WHERE endpoint_id = :endpoint_id AND status = 'pending'`,
  attemptSeries: `SELECT (started_at - :since::bigint) / :bucket_ms::bigint AS bucket,
                    CASE WHEN status_code >= 200 AND status_code < 300 THEN 1 ELSE 0 END AS ok,
                    CASE WHEN duration_ms < 100 THEN duration_ms WHEN duration_ms < 1000 THEN duration_ms / 10 * 10
                         WHEN duration_ms < 10000 THEN duration_ms / 100 * 100 ELSE duration_ms / 1000 * 1000 END AS ms,
                    COUNT(*) AS n, SUM(duration_ms) AS total_ms
                  FROM attempts WHERE endpoint_id = :endpoint_id AND started_at >= :since AND started_at < :until
                  GROUP BY 1, 2, 3`,
  endpointCounters: `SELECT consecutive_failures, last_attempt_at FROM endpoints WHERE id = :id`,

  // ── worker ────────────────────────────────────────────────────────────
  // One statement claims a batch and returns everything needed to send it. Several worker
  // processes share the table, so a claim is a lease: next_attempt_at moves to lease_until.
  // That keeps a leased row in the due index but behind everything due now, and makes it due
  // again by itself when the lease runs out: a worker that died loses nothing, and no sweeper
  // has to look for dead leases. The claim therefore ignores lease_owner altogether (it only
  // records who holds the row). SKIP LOCKED lets concurrent claimers pass over each other's
  // rows instead of queueing on them; a row taken and committed since this snapshot is
  // re-checked under its lock, finds next_attempt_at in the future, and is left out.
  // The UPDATE finds the locked rows by ctid, a direct heap fetch: joined by id, the planner
  // hash-joins 500 rows against a sequential scan of the table until it holds millions of
  // rows (measured: 22–32 ms per 500 at 60k rows, 12–16 ms by ctid). A row locked above can't
  // move before this statement ends; one updated and committed since the statement's snapshot
  // has a ctid the snapshot can't see, so at worst it is left for the next claim.
  claim: `WITH due AS (
            SELECT ctid, id, next_attempt_at AS due_at FROM deliveries WHERE status = 'pending' AND next_attempt_at <= :now
            ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED),
          claimed AS (
            UPDATE deliveries d SET lease_owner = :owner, next_attempt_at = :lease_until
            FROM due WHERE d.ctid = due.ctid RETURNING ${CLAIMED_COLUMNS})
          ${HYDRATE}`,
  // The earliest moment anything becomes claimable: a schedule, or a lease running out (held
  // deliveries sort last and are cut off by the caller).
  nextDue: `SELECT min(next_attempt_at) AS at FROM deliveries WHERE status = 'pending'`,
  // A batch's attempts and delivery states in one statement. An attempt of a delivery deleted
  // meanwhile (its endpoint or app went while the request was in flight) is skipped. The
  // attempt number guards against a worker whose lease ran out while its request was still
  // going: if another worker re-claimed the delivery and recorded this attempt number first,
  // the late result is dropped rather than written twice (first result of an attempt wins).
  // `d.id = ANY(…)` restates the join as an index condition: without it the planner hash-joins
  // the batch against a sequential scan of deliveries until the table is very large.
  recordBatch: `WITH o AS (
                  SELECT * FROM unnest(:attempt_ids::text[], :delivery_ids::text[], :endpoint_ids::text[], :numbers::int[],
                    :started_ats::bigint[], :durations::int[], :status_codes::int[], :response_bodies::text[],
                    :errors::text[], :statuses::text[], :next_attempt_ats::bigint[])
                    AS o(attempt_id, delivery_id, endpoint_id, number, started_at, duration_ms, status_code,
                         response_body, error, status, next_attempt_at)),
                ins AS (
                  INSERT INTO attempts (id, delivery_id, endpoint_id, number, started_at, duration_ms, status_code,
                    response_body, error)
                  SELECT o.attempt_id, o.delivery_id, o.endpoint_id, o.number, o.started_at, o.duration_ms, o.status_code,
                    o.response_body, o.error
                  FROM o JOIN deliveries d ON d.id = o.delivery_id WHERE d.id = ANY(:delivery_ids)
                  ON CONFLICT (delivery_id, number) DO NOTHING)
                UPDATE deliveries d SET status = o.status, attempt_count = o.number, last_status_code = o.status_code,
                  last_error = o.error, next_attempt_at = o.next_attempt_at, lease_owner = NULL,
                  last_attempt_at = o.started_at,
                  delivered_at = CASE WHEN o.status = 'success' THEN :now::bigint ELSE d.delivered_at END,
                  one_shot = CASE WHEN o.status = 'pending' THEN d.one_shot ELSE false END
                FROM o WHERE d.id = o.delivery_id AND d.id = ANY(:delivery_ids) AND d.attempt_count < o.number`,
  release: `UPDATE deliveries d SET lease_owner = NULL, next_attempt_at = r.at
            FROM unnest(:ids::text[], :ats::bigint[]) AS r(id, at) WHERE d.id = r.id AND d.id = ANY(:ids)`,
  // For a single-worker deployment at start (server.ts calls it only when leases don't
  // expire, so never for PostgreSQL in production); the conformance suite still uses it.
  releaseAll: `UPDATE deliveries SET lease_owner = NULL, next_attempt_at = :now
               WHERE status = 'pending' AND lease_owner IS NOT NULL AND next_attempt_at < ${PARKED}`,
  queueDepth: `SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`,
  // Wakes listeners in every process (LISTEN herald_wake); the payload names the schema so
  // two deployments sharing a database don't wake each other. Delivered at commit, and
  // duplicates within one transaction are folded into one by PostgreSQL.
  wake: `SELECT pg_notify('herald_wake', :schema)`,
  // Apps or event types changed: every process's cache of them starts over (PostgresConnection).
  configChanged: `SELECT pg_notify('herald_config', :schema)`,
  // One process's relay sockets, all at once: its rows for endpoints it no longer serves go,
  // as do rows of processes silent for long (crashed ones).
  reportRelays: `WITH gone AS (DELETE FROM relay_listeners
                               WHERE (process_id = :process AND NOT (endpoint_id = ANY(:ids::text[]))) OR seen_at < :forget_before)
                 INSERT INTO relay_listeners (endpoint_id, process_id, listeners, connected_at, seen_at)
                 SELECT id, :process, n, at, :now FROM unnest(:ids::text[], :counts::int[], :since::bigint[]) AS r(id, n, at)
                 ON CONFLICT (endpoint_id, process_id) DO UPDATE
                   SET listeners = EXCLUDED.listeners, connected_at = EXCLUDED.connected_at, seen_at = EXCLUDED.seen_at`,
  relayStatus: `SELECT endpoint_id, sum(listeners)::int AS listeners, max(connected_at) AS since FROM relay_listeners
                WHERE endpoint_id = ANY(:ids::text[]) AND seen_at >= :alive_since AND listeners > 0 GROUP BY endpoint_id`,
  heartbeat: `WITH seen AS (
                INSERT INTO herald_workers (id, seen_at) VALUES (:id, :now)
                ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at),
              gone AS (DELETE FROM herald_workers WHERE seen_at < :forget_before AND id <> :id)
              SELECT 1 + count(*) AS n FROM herald_workers WHERE seen_at >= :alive_since AND id <> :id`,
  // Retention in short batches: each call locks at most `limit` events (SKIP LOCKED: never
  // waits on a row someone else holds) and cascades to their deliveries and attempts. The
  // BRIN index on created_at narrows the scan to the oldest block ranges.
  prune: `DELETE FROM events WHERE pk IN (
            SELECT e.pk FROM events e WHERE e.created_at < :before
            AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_pk = e.pk AND d.status = 'pending')
            AND NOT EXISTS (SELECT 1 FROM inbound_requests r WHERE r.event_pk = e.pk AND (r.waiting OR r.app_pending))
            LIMIT :limit FOR UPDATE SKIP LOCKED)`,

  // ── inbound: sources ──────────────────────────────────────────────────
  insertSource: `INSERT INTO sources (id, app_id, name, verification, dedup, ordering, destinations, forward_headers,
                   rate_limit, response, poll, created_at, updated_at)
                 VALUES (:id, :app_id, :name, :verification, :dedup, :ordering, :destinations, :forward_headers,
                   :rate_limit, :response, :poll, :now, :now) RETURNING *`,
  source: `SELECT * FROM sources WHERE id = :id`,
  // NO KEY UPDATE: ingests (key share) go on meanwhile; only a delete conflicts.
  sourceForUpdate: `SELECT * FROM sources WHERE id = :id FOR NO KEY UPDATE`,
  listSources: `SELECT * FROM sources WHERE id > :after ORDER BY id LIMIT :limit`,
  updateSource: `UPDATE sources SET name = :name, verification = :verification, dedup = :dedup, ordering = :ordering,
                   destinations = :destinations, forward_headers = :forward_headers, rate_limit = :rate_limit,
                   response = :response, poll = :poll, updated_at = GREATEST(:now, updated_at + 1)
                 WHERE id = :id RETURNING *`,
  // A source goes first (its requests, keys and sequences cascade), then its app (events,
  // endpoints, deliveries cascade): see the lock order above.
  lockSourceForDelete: `SELECT ${sourceLock('pg_advisory_xact_lock')}`,
  deleteSource: `DELETE FROM sources WHERE id = :source_id RETURNING app_id`,

  // Which gateway processes take a source's requests (migration 4): its rate limit is split between them.
  // By the database's clock, so processes whose clocks disagree still see each other.
  gatewayPresence: `WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now),
                    seen AS (
                      INSERT INTO inbound_gateways (source_id, process_id, seen_at)
                      SELECT unnest(:source_ids::text[]), :process_id, clock.now FROM clock
                      ON CONFLICT (source_id, process_id) DO UPDATE SET seen_at = EXCLUDED.seen_at)
                    SELECT s AS source_id, 1 + (SELECT count(*) FROM inbound_gateways g, clock
                      WHERE g.source_id = s AND g.process_id <> :process_id AND g.seen_at >= clock.now - :ttl_ms)::int AS n
                    FROM unnest(:source_ids::text[]) AS s`,
  forgetGateways: `DELETE FROM inbound_gateways WHERE ctid IN (
                     SELECT ctid FROM inbound_gateways WHERE seen_at < (extract(epoch FROM clock_timestamp()) * 1000)::bigint - :older_ms
                     LIMIT 500 FOR UPDATE SKIP LOCKED)`,
  // ── inbound: requests ─────────────────────────────────────────────────
  // The first statement of an ingest without a dedup key (claimDedupKey takes it otherwise).
  lockSource: `SELECT ${sourceLock('pg_advisory_xact_lock_shared')}`,
  // A request not forwarded (rejected, duplicate, stale): a log row only. It takes the source's
  // shared lock itself, for a rejection is a statement of its own.
  insertRequest: `INSERT INTO inbound_requests (id, source_id, status, reason, detail, received_at, headers, content_type,
                    body_size, dedup_key, ordering_key, sequence)
                  SELECT :id::text, :source_id::text, :status::text, :reason::text, :detail::text, :received_at::bigint,
                    :headers::json, :content_type::text, :body_size::int, :dedup_key::text, :ordering_key::text,
                    :sequence::bigint
                  FROM (SELECT ${sourceLock('pg_advisory_xact_lock_shared')}) l RETURNING *`,
  // An accepted request: its raw bytes as an event of the source's app (numbered from
  // inbound_sequence, see migration 3) and its log row, waiting or not yet released. No
  // deliveries yet. The source's row is share-locked first (the lock order above).
  insertAccepted: `WITH src AS (SELECT 1 FROM sources WHERE id = :source_id FOR KEY SHARE),
                   seq AS (SELECT nextval('inbound_sequence') AS last_sequence FROM src),
                   ev AS (
                     INSERT INTO events (app_id, id, type, timestamp, sequence, ordering_key, body, raw, headers, deliveries,
                       created_at)
                     SELECT :app_id::text, :id::text, 'inbound.request', :now::bigint, seq.last_sequence, :ordering_key::text, '',
                       :raw::bytea, :forward_headers::json, 0, :now::bigint
                     FROM seq RETURNING pk)
                   INSERT INTO inbound_requests (id, source_id, status, received_at, headers, content_type, body_size,
                     dedup_key, ordering_key, sequence, event_pk, waiting, routes)
                   SELECT :id, :source_id::text, 'accepted', :received_at::bigint, :headers::json, :content_type::text,
                     :body_size::int, :dedup_key::text, :ordering_key::text, :sequence::bigint, ev.pk, :waiting::boolean,
                     :routes::json
                   FROM ev RETURNING *`,
  // Forwards stored requests, in the given order: each is numbered by a fresh sequence of the
  // source's app (so deliveries of one ordering key go out in release order), gets one delivery
  // per destination endpoint its filters matched (:next_attempt_ats from the caller,
  // ORDER_HELD_AT where its key is busy, as in publish) and, if it matched an app destination, a
  // mark for the app-destination outbox. Rows travel as arrays; deliveries name their request by
  // its position (:delivery_ns, 1-based).
  releaseRequests: `WITH r AS (
                      SELECT * FROM unnest(:pks::bigint[], :event_pks::bigint[], :event_ids::text[], :gap_froms::bigint[],
                        :gap_tos::bigint[], :per_requests::int[], :app_pendings::boolean[])
                        WITH ORDINALITY AS r(pk, event_pk, event_id, gap_from, gap_to, per_request, app_pending, n)),
                    -- Increasing numbers, one per request in order (nextval per row of the series).
                    seq AS (
                      SELECT g.n, nextval('inbound_sequence') AS s
                      FROM generate_series(1, cardinality(:pks::bigint[])) AS g(n)),
                    dl AS (
                      INSERT INTO deliveries (id, app_id, endpoint_id, event_pk, event_id, event_type, status,
                        next_attempt_at, lease_owner, ordering_key, event_seq, created_at)
                      SELECT d.id, :app_id, d.endpoint_id, r.event_pk, r.event_id, 'inbound.request', 'pending',
                        d.next_attempt_at, NULL, :ordering_key::text, seq.s, :now::bigint
                      FROM unnest(:delivery_ids::text[], :delivery_ns::bigint[], :endpoint_ids::text[], :next_attempt_ats::bigint[])
                        AS d(id, n, endpoint_id, next_attempt_at)
                      JOIN r ON r.n = d.n JOIN seq ON seq.n = r.n),
                    ev AS (
                      UPDATE events e SET deliveries = e.deliveries + r.per_request
                      FROM r WHERE e.pk = r.event_pk AND r.per_request > 0)
                    UPDATE inbound_requests q SET waiting = false, release_seq = seq.s, app_pending = r.app_pending,
                      gap_from = r.gap_from, gap_to = r.gap_to
                    FROM r JOIN seq ON seq.n = r.n WHERE q.pk = r.pk RETURNING q.*`,
  // ── inbound: group commit (PostgresInbound.ingest) ──────────────────
  // Unsequenced requests arriving together are written in one transaction of a few
  // statements, whatever their number. Every lock a group takes, it takes in the order of the
  // lock order above and, within each kind, in one order shared by every process (the caller
  // sorts; WITH ORDINALITY keeps its order), so two groups, or a group and a lone ingest,
  // queue behind each other instead of deadlocking.
  //
  // The group's sources' shared locks, then its dedup keys (one row per distinct key, sorted
  // by source then key). The locks are an aggregate: it reads all its input before the
  // first key is inserted, whichever side of the join the planner puts it on. Unlike
  // claimDedupKey, a live key is "updated" to itself, so RETURNING names every key's holder,
  // this request or the earlier one, read under the row's lock: no second statement, and no
  // retry for a key pruned in between.
  claimGroup: `INSERT INTO inbound_dedup (source_id, key, request_id, expires_at)
               SELECT c.source_id, c.key, c.request_id, c.expires_at
               FROM (SELECT count(${groupSourceLock}) FROM unnest(:lock_sources::text[]) AS s(id)) l,
                 unnest(:source_ids::text[], :keys::text[], :request_ids::text[], :expires_ats::bigint[])
                   WITH ORDINALITY AS c(source_id, key, request_id, expires_at, n)
               ORDER BY c.n
               -- Expired by the clock of the request claiming it (each request has its own).
               ON CONFLICT (source_id, key) DO UPDATE SET (request_id, expires_at) = (
                 SELECT CASE WHEN inbound_dedup.expires_at <= c.now THEN EXCLUDED.request_id ELSE inbound_dedup.request_id END,
                        CASE WHEN inbound_dedup.expires_at <= c.now THEN EXCLUDED.expires_at ELSE inbound_dedup.expires_at END
                 FROM unnest(:source_ids::text[], :keys::text[], :nows::bigint[]) AS c(source_id, key, now)
                 WHERE c.source_id = EXCLUDED.source_id AND c.key = EXCLUDED.key)
               RETURNING source_id, key, request_id`,
  // The same locks for a group without dedup keys.
  lockGroupSources: `SELECT count(${groupSourceLock}) FROM unnest(:lock_sources::text[]) AS s(id)`,
  // Before a group's (endpoint, key) locks: the rows its events' foreign keys will share-lock,
  // as a lone ingest does (insertAccepted precedes lockKeys). publish locks its app's row FOR
  // UPDATE and then (endpoint, key) locks; taking them the other way round could deadlock.
  shareGroupApps: `SELECT 1 FROM apps WHERE id = ANY(:app_ids::text[]) ORDER BY id`,
  // A group's requests, in order: each accepted one as an event of its source's app with its
  // deliveries (:next_attempt_ats decided by the caller under the (endpoint, key) locks), all
  // released at once, numbered by one fresh inbound_sequence each, taken in the group's order
  // (the caller marked keys busy in that order); each duplicate as a log row only.
  acceptGroup: `WITH r AS (
                  SELECT * FROM unnest(:ids::text[], :source_ids::text[], :app_ids::text[], :statuses::text[], :reasons::text[],
                    :details::text[], :received_ats::bigint[], :headers::json[], :content_types::text[], :body_sizes::int[],
                    :dedup_keys::text[], :ordering_keys::text[], :sequences::bigint[], :raws::bytea[], :forward_headers::json[],
                    :per_requests::int[], :app_pendings::boolean[], :nows::bigint[], :routes::json[])
                    WITH ORDINALITY AS r(id, source_id, app_id, status, reason, detail, received_at, headers, content_type,
                      body_size, dedup_key, ordering_key, sequence, raw, forward_headers, per_request, app_pending, now, routes,
                      n)),
                seq AS (SELECT r.n, nextval('inbound_sequence') AS s FROM r WHERE r.status = 'accepted' ORDER BY r.n),
                ev AS (
                  INSERT INTO events (app_id, id, type, timestamp, sequence, ordering_key, body, raw, headers, deliveries, created_at)
                  SELECT r.app_id, r.id, 'inbound.request', r.now, seq.s, r.ordering_key, '', r.raw, r.forward_headers,
                    r.per_request, r.now
                  FROM r JOIN seq ON seq.n = r.n RETURNING pk, id),
                dl AS (
                  INSERT INTO deliveries (id, app_id, endpoint_id, event_pk, event_id, event_type, status,
                    next_attempt_at, lease_owner, ordering_key, event_seq, created_at)
                  SELECT d.id, r.app_id, d.endpoint_id, ev.pk, r.id, 'inbound.request', 'pending', d.next_attempt_at, NULL,
                    r.ordering_key, seq.s, r.now
                  FROM unnest(:delivery_ids::text[], :delivery_ns::bigint[], :endpoint_ids::text[], :next_attempt_ats::bigint[])
                    AS d(id, n, endpoint_id, next_attempt_at)
                  JOIN r ON r.n = d.n JOIN seq ON seq.n = r.n JOIN ev ON ev.id = r.id)
                INSERT INTO inbound_requests (id, source_id, status, reason, detail, received_at, headers, content_type,
                  body_size, dedup_key, ordering_key, sequence, event_pk, waiting, release_seq, app_pending, routes)
                SELECT r.id, r.source_id, r.status, r.reason, r.detail, r.received_at, r.headers, r.content_type, r.body_size,
                  r.dedup_key, r.ordering_key, r.sequence, ev.pk, false, seq.s, seq.s IS NOT NULL AND r.app_pending, r.routes
                FROM r LEFT JOIN seq ON seq.n = r.n LEFT JOIN ev ON ev.id = r.id
                ORDER BY r.n RETURNING *`,
  // A key is taken if absent or expired; rowCount says whether this request took it. A
  // concurrent claim of the same key waits for this transaction, then sees the key live.
  // The first statement of an ingest with a dedup key: the source's shared lock comes first.
  claimDedupKey: `INSERT INTO inbound_dedup (source_id, key, request_id, expires_at)
                  SELECT :source_id::text, :key::text, :request_id::text, :expires_at::bigint
                  FROM (SELECT ${sourceLock('pg_advisory_xact_lock_shared')}) l
                  ON CONFLICT (source_id, key) DO UPDATE SET request_id = EXCLUDED.request_id, expires_at = EXCLUDED.expires_at
                  WHERE inbound_dedup.expires_at <= :now`,
  dedupOwner: `SELECT request_id FROM inbound_dedup WHERE source_id = :source_id AND key = :key`,
  // The source's row first, then the key (no row: the source is gone).
  lockSourceKey: `SELECT pg_advisory_xact_lock(${sourceKeyHash(':source_id', ':key')})
                  FROM (SELECT 1 FROM sources WHERE id = :source_id FOR KEY SHARE) s`,
  sequenceState: `SELECT next_seq, gap_deadline FROM inbound_sequences WHERE source_id = :source_id AND key = :key`,
  saveSequence: `INSERT INTO inbound_sequences (source_id, key, next_seq, gap_timeout_ms, gap_deadline)
                 VALUES (:source_id, :key, :next_seq, :gap_timeout_ms, :gap_deadline)
                 ON CONFLICT (source_id, key) DO UPDATE SET next_seq = EXCLUDED.next_seq,
                   gap_timeout_ms = EXCLUDED.gap_timeout_ms, gap_deadline = EXCLUDED.gap_deadline`,
  waitingAt: `SELECT id FROM inbound_requests
              WHERE source_id = :source_id AND ordering_key = :key AND sequence = :sequence AND waiting`,
  // A key's waiting requests from a sequence on, in order, a chunk at a time.
  // A key's gap deadline runs from the arrival of its oldest request still waiting.
  oldestWaiting: `SELECT min(received_at)::bigint AS at FROM inbound_requests
                  WHERE source_id = :source_id AND ordering_key = :key AND waiting`,
  waitingFrom: `SELECT pk, id, event_pk, sequence, routes FROM inbound_requests
                WHERE source_id = :source_id AND ordering_key = :key AND sequence >= :from AND waiting
                ORDER BY sequence LIMIT :limit`,
  // One key whose gap timed out, locked with its source's row (SKIP LOCKED: a key someone is
  // saving right now is theirs, a source being deleted is gone), then its advisory lock tried:
  // locked = false means an ingest of the key holds it, and the caller ends the transaction at
  // once and passes the key over; nothing here ever waits for a lock. A row released and
  // committed by another worker since this statement's snapshot is re-checked under the row
  // lock, finds its deadline moved or cleared, and drops out.
  dueGap: `SELECT g.source_id, g.key, g.next_seq, g.gap_timeout_ms,
             pg_try_advisory_xact_lock(${sourceKeyHash('g.source_id', 'g.key')}) AS locked
           FROM (SELECT q.source_id, q.key, q.next_seq, q.gap_timeout_ms
                 FROM inbound_sequences q JOIN sources src ON src.id = q.source_id
                 WHERE q.gap_deadline <= :now
                   AND (q.source_id, q.key) NOT IN (SELECT * FROM unnest(:skip_sources::text[], :skip_keys::text[]))
                 ORDER BY q.gap_deadline LIMIT 1
                 FOR UPDATE OF q SKIP LOCKED FOR KEY SHARE OF src SKIP LOCKED) g`,
  appEndpointIds: `SELECT id, status FROM endpoints WHERE app_id = :app_id ORDER BY id`,
  // KEY SHARE, as the deliveries' foreign keys will take anyway: an endpoint being enabled
  // (endpointForUpdate) or deleted waits for this commit, or this read sees its result.
  destinationStatuses: `SELECT id, status FROM endpoints WHERE id = ANY(:ids::text[]) ORDER BY id FOR KEY SHARE`,
  listRequests: `SELECT * FROM inbound_requests WHERE source_id = :source_id AND id < :before
                 AND (:status::text IS NULL OR status = :status) AND (:via::text IS NULL OR via = :via) ORDER BY id DESC LIMIT :limit`,
  request: `SELECT * FROM inbound_requests WHERE source_id = :source_id AND id = :id`,
  requestBody: `SELECT e.raw, r.content_type FROM inbound_requests r JOIN events e ON e.pk = r.event_pk
                WHERE r.source_id = :source_id AND r.id = :id`,
  // Delivery states of a page of requests' events, through deliveries_event.
  deliveryCounts: `SELECT event_pk, status, count(*) AS n FROM deliveries WHERE event_pk = ANY(:pks::bigint[])
                   GROUP BY event_pk, status`,
  appForwards: `SELECT r.id, r.source_id, r.ordering_key, r.received_at, r.content_type, r.routes, e.raw, e.headers
                FROM inbound_requests r JOIN events e ON e.pk = r.event_pk
                WHERE r.app_pending ORDER BY r.release_seq LIMIT :limit`,
  finishAppForwards: `UPDATE inbound_requests q SET app_pending = false, app_error = f.error
                      FROM unnest(:ids::text[], :errors::text[]) AS f(id, error)
                      WHERE q.id = f.id AND q.id = ANY(:ids::text[])`,
  // Finished deliveries get one more attempt each (reopen's semantics).
  replayRequest: `UPDATE deliveries SET status = 'pending', one_shot = true, next_attempt_at = :now, lease_owner = NULL
                  WHERE event_pk = (SELECT event_pk FROM inbound_requests WHERE source_id = :source_id AND id = :id)
                  AND status IN ('failed', 'success') AND lease_owner IS NULL`,
  // Request ids are time-ordered, so a time range is an id range on the source's index.
  replayRange: `UPDATE deliveries SET status = 'pending', one_shot = true, next_attempt_at = :now, lease_owner = NULL
                WHERE event_pk IN (SELECT event_pk FROM inbound_requests WHERE source_id = :source_id
                                   AND id >= :from_id AND id < :to_id AND event_pk IS NOT NULL)
                AND status = :status AND lease_owner IS NULL`,
  pruneDedup: `DELETE FROM inbound_dedup WHERE (source_id, key) IN (
                 SELECT source_id, key FROM inbound_dedup WHERE expires_at <= :now ORDER BY expires_at LIMIT :limit
                 FOR UPDATE SKIP LOCKED)`,
  pruneRequests: `DELETE FROM inbound_requests WHERE pk IN (
                    SELECT pk FROM inbound_requests WHERE id < :before_id AND NOT waiting AND NOT app_pending LIMIT :limit
                    FOR UPDATE SKIP LOCKED)`,
  // ── alerts ────────────────────────────────────────────────────────────
  insertAlertRule: `INSERT INTO alert_rules (id, name, app_id, endpoint_id, source_id, condition, channels, repeat_seconds, enabled,
                      created_by, created_at, updated_at)
                    VALUES (:id, :name, :app_id, :endpoint_id, :source_id, :condition, :channels, :repeat_seconds, :enabled,
                      :created_by, :now, :now) RETURNING *`,
  alertRule: `SELECT * FROM alert_rules WHERE id = :id`,
  listAlertRules: `SELECT * FROM alert_rules WHERE id > :after AND (:app_id::text IS NULL OR app_id = :app_id) ORDER BY id LIMIT :limit`,
  // A changed condition (or a rule switched off) starts again from ok, silently (:reset).
  updateAlertRule: `UPDATE alert_rules SET name = :name, condition = :condition, channels = :channels, repeat_seconds = :repeat_seconds,
                      enabled = :enabled,
                      state = CASE WHEN :reset::boolean THEN 'ok' ELSE state END,
                      last_transition_at = CASE WHEN :reset::boolean AND state <> 'ok' THEN :now::bigint ELSE last_transition_at END,
                      last_value = CASE WHEN :reset::boolean THEN NULL ELSE last_value END,
                      updated_at = GREATEST(:now::bigint, updated_at + 1)
                    WHERE id = :id RETURNING *`,
  deleteAlertRule: `DELETE FROM alert_rules WHERE id = :id`,
  alertHistory: `SELECT * FROM alert_history WHERE rule_id = :id ORDER BY id DESC LIMIT 100`,
  ensureAlertsApp: `INSERT INTO apps (id, uid, name, metadata, created_at, updated_at)
                    VALUES (:id, NULL, 'Herald alerts', '{"herald":"alerts"}', :now, :now) ON CONFLICT (id) DO NOTHING`,
  enabledAlertRules: `SELECT * FROM alert_rules WHERE enabled ORDER BY id`,
  alertEndpoints: `SELECT e.id, e.app_id, a.name AS app_name, e.url, e.status, e.disabled_reason, e.disabled_at, e.consecutive_failures
                   FROM endpoints e JOIN apps a ON a.id = e.app_id
                   WHERE e.app_id <> :alerts_app
                     AND (:all::boolean OR e.app_id = ANY(:app_ids::text[]) OR e.id = ANY(:endpoint_ids::text[]))`,
  // Each (endpoint, since) pair of the round is one range scan of attempts_endpoint_time, which
  // covers everything read here. Durations are rounded as in attemptSeries, so a window of a
  // busy endpoint comes back as ~100 rows.
  alertAttemptFigures: `SELECT a.endpoint_id, w.since, a.status_code,
                          CASE WHEN a.duration_ms < 100 THEN a.duration_ms WHEN a.duration_ms < 1000 THEN a.duration_ms / 10 * 10
                               WHEN a.duration_ms < 10000 THEN a.duration_ms / 100 * 100 ELSE a.duration_ms / 1000 * 1000 END AS ms,
                          count(*) AS n
                        FROM unnest(:endpoint_ids::text[], :sinces::bigint[]) AS w(endpoint_id, since)
                        JOIN attempts a ON a.endpoint_id = w.endpoint_id AND a.started_at >= w.since AND a.started_at < :now
                        GROUP BY a.endpoint_id, w.since, a.status_code, 4`,
  // Along deliveries_due (pending only): what it costs is the size of the queue, not of the
  // endpoints' history. In-flight deliveries are counted too (their lease is in the same row).
  alertQueueFigures: `SELECT endpoint_id, count(*) AS waiting, min(created_at) AS oldest_at FROM deliveries
                      WHERE status = 'pending' AND endpoint_id = ANY(:endpoint_ids::text[])
                      GROUP BY endpoint_id`,
  alertSources: `SELECT id, name FROM sources ORDER BY id`,
  // Request ids are time-ordered (newId('req', receivedAt)): a window is a range of inbound_requests_source.
  alertRejectionFigures: `SELECT w.source_id, w.since, s.name, count(r.id) AS n
                          FROM unnest(:source_ids::text[], :sinces::bigint[], :since_ids::text[]) AS w(source_id, since, since_id)
                          JOIN sources s ON s.id = w.source_id
                          LEFT JOIN inbound_requests r ON r.source_id = w.source_id AND r.id >= w.since_id AND r.status = 'rejected'
                          GROUP BY w.source_id, w.since, s.name`,
  alertFailureBreakdown: `SELECT endpoint_id, status_code, error, count(*) AS n FROM attempts
                          WHERE endpoint_id = ANY(:endpoint_ids::text[]) AND started_at >= :since AND started_at < :now
                            AND (status_code IS NULL OR status_code < 200 OR status_code >= 300)
                          GROUP BY endpoint_id, status_code, error ORDER BY n DESC LIMIT 20`,
  // The transition happens only if the rule is still as the evaluation read it: of several
  // processes evaluating (or an evaluation racing an edit) exactly one gets the row back.
  transitionAlertRule: `UPDATE alert_rules SET state = :to,
                          last_transition_at = CASE WHEN state <> :to THEN :now::bigint ELSE last_transition_at END,
                          last_notified_at = :now, last_value = :value
                        WHERE id = :id AND enabled AND state = :state AND updated_at = :updated_at
                          AND last_notified_at IS NOT DISTINCT FROM :last_notified_at::bigint
                        RETURNING id`,
  insertAlertHistory: `INSERT INTO alert_history (rule_id, at, kind, value, threshold, summary, figures)
                       VALUES (:rule_id, :at, :kind, :value, :threshold, :summary, :figures)`,
  pruneAlertHistory: `DELETE FROM alert_history WHERE rule_id = :rule_id
                        AND id <= (SELECT id FROM alert_history WHERE rule_id = :rule_id ORDER BY id DESC LIMIT 1 OFFSET 100)`,
  insertAlertNotification: `INSERT INTO alert_outbox (id, rule_id, channel, message, next_attempt_at, created_at)
                            VALUES (:id, :rule_id, :channel, :message, :now, :now)`,
  // Several processes send: SKIP LOCKED lets each take other rows instead of waiting on the
  // ones being claimed, and the claim moves next_attempt_at to the lease's end, so a
  // notification whose sender died is due again then.
  claimAlertNotifications: `WITH due AS (SELECT id FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= :now
                                         ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED)
                            UPDATE alert_outbox o SET next_attempt_at = :lease_until, attempts = o.attempts + 1
                            FROM due WHERE o.id = due.id RETURNING o.*`,
  deleteAlertNotification: `DELETE FROM alert_outbox WHERE id = :id`,
  failAlertNotification: `UPDATE alert_outbox SET status = CASE WHEN :retry_at::bigint IS NULL THEN 'failed' ELSE 'pending' END,
                            next_attempt_at = COALESCE(:retry_at::bigint, next_attempt_at), last_error = :error
                          WHERE id = :id`,

  // ── the database's own settings ───────────────────────────────────────
  setting: `SELECT value FROM herald_settings WHERE name = :name`,
  insertSetting: `INSERT INTO herald_settings (name, value) VALUES (:name, :value) ON CONFLICT (name) DO NOTHING`,
  sealedSecret: `SELECT secret FROM endpoints WHERE secret LIKE 'enc:%' LIMIT 1`,

  // ── portal and console sessions ───────────────────────────────────────
  insertPortalToken: `INSERT INTO portal_tokens (token_hash, app_id, capabilities, label, expires_at, created_at)
                      VALUES (:token_hash, :app_id, :capabilities, :label, :expires_at, :now)`,
  // The use and its check are one statement: two tabs opening one link can't both get in.
  redeemPortalToken: `UPDATE portal_tokens SET used_at = :now
                      WHERE token_hash = :token_hash AND used_at IS NULL AND expires_at > :now RETURNING *`,
  insertSession: `INSERT INTO ui_sessions (id_hash, kind, app_id, capabilities, label, expires_at, created_at)
                  VALUES (:id_hash, :kind, :app_id, :capabilities, :label, :expires_at, :created_at)`,
  session: `SELECT * FROM ui_sessions WHERE id_hash = :id_hash AND expires_at > :now`,
  deleteSession: `DELETE FROM ui_sessions WHERE id_hash = :id_hash`,
  expireAppSessions: `DELETE FROM ui_sessions WHERE app_id = :app_id AND (:label::text IS NULL OR label = :label)`,
  expireAppTokens: `DELETE FROM portal_tokens WHERE app_id = :app_id AND used_at IS NULL AND (:label::text IS NULL OR label = :label)`,
  purgeSessions: `DELETE FROM ui_sessions WHERE expires_at <= :now`,
  purgePortalTokens: `DELETE FROM portal_tokens WHERE expires_at <= :now`,
} as const;

export type StatementName = keyof typeof TEXT;
export interface Statement {
  name: StatementName;
  text: string;
  /** parameter names in $n order */
  params: string[];
}

/** `:name` → `$n` (a repeated name reuses its number); `::type` casts are left alone. */
export function compile(name: StatementName, source: string): Statement {
  const params: string[] = [];
  const text = source.replace(/(?<![:\w]):([a-z_][a-z0-9_]*)/g, (_, p: string) => {
    let i = params.indexOf(p);
    if (i < 0) i = params.push(p) - 1;
    return `$${i + 1}`;
  });
  return { name, text, params };
}

export const SQL = Object.fromEntries(
  Object.entries(TEXT).map(([name, text]) => [name, compile(name as StatementName, text)]),
) as Record<StatementName, Statement>;
