/**
 * Every SQL statement of the SQLite backend, grouped by area. Named parameters (@name)
 * are bound by better-sqlite3; statements are prepared once per connection.
 */
import { POLL_SQL } from './poll-sql.js';
import { TRANSFORM_SQL } from './transform-sql.js';

// The sentinels of types.ts (PARKED_AT, ORDER_HELD_AT) spelled out, so that the partial index
// deliveries_held, whose WHERE repeats them, is usable by the statements below.
const PARKED = '8000000000000000';
const ORDER_HELD = '9000000000000000';
const HELD_RANGE = `next_attempt_at >= ${PARKED} AND next_attempt_at < ${ORDER_HELD}`;

const FILTERS = `AND (@endpoint_id IS NULL OR endpoint_id = @endpoint_id)
  AND (@event_id IS NULL OR event_id = @event_id)
  AND (@event_type IS NULL OR event_type = @event_type)
  AND (@status IS NULL OR status = @status)`;

export const SQL = {
  ...POLL_SQL,
  ...TRANSFORM_SQL,
  // ── apps ──────────────────────────────────────────────────────────────
  insertApp: `INSERT INTO apps (id, uid, name, metadata, signature_profile, envelope_profile, portal, created_at, updated_at)
              VALUES (@id, @uid, @name, @metadata, @signature_profile, @envelope_profile, @portal, @now, @now) RETURNING *`,
  appById: `SELECT * FROM apps WHERE id = @id`,
  appByIdOrUid: `SELECT apps.*, (SELECT id FROM sources WHERE sources.app_id = apps.id) AS source_id
                 FROM apps WHERE id = @key OR uid = @key LIMIT 1`,
  // Sources' own apps and the alerts app (ALERTS_APP_ID) are internal: reachable by id, not listed.
  listApps: `SELECT * FROM apps WHERE id > @after AND id NOT IN (SELECT app_id FROM sources) AND id <> 'app_herald_alerts' ORDER BY id LIMIT @limit`,
  updateApp: `UPDATE apps SET name = @name, uid = @uid, metadata = @metadata, signature_profile = @signature_profile,
              envelope_profile = @envelope_profile, portal = @portal, updated_at = @now WHERE id = @id RETURNING *`,
  deleteApp: `DELETE FROM apps WHERE id = @id`,
  bumpSequence: `UPDATE apps SET last_sequence = last_sequence + @n WHERE id = @id RETURNING last_sequence`,

  // ── event types ───────────────────────────────────────────────────────
  insertEventType: `INSERT INTO event_types (name, description, schema, examples, created_at, updated_at)
                    VALUES (@name, @description, @schema, @examples, @now, @now) RETURNING *`,
  eventType: `SELECT * FROM event_types WHERE name = @name`,
  listEventTypes: `SELECT * FROM event_types WHERE name > @after AND (@all = 1 OR archived = 0)
                   ORDER BY name LIMIT @limit`,
  updateEventType: `UPDATE event_types SET description = @description, schema = @schema, examples = @examples, archived = @archived,
                    updated_at = @now WHERE name = @name RETURNING *`,

  // ── endpoints ─────────────────────────────────────────────────────────
  insertEndpoint: `INSERT INTO endpoints (id, app_id, url, description, events, filter, channels, status, disabled_at, disabled_reason,
                     secret, headers, retry_schedule, timeout_ms, rate_limit, max_in_flight, disable_after_failures,
                     disable_after_seconds, metadata, transform, created_at, updated_at)
                   VALUES (@id, @app_id, @url, @description, @events, @filter, @channels, @status, @disabled_at, @disabled_reason,
                     @secret, @headers, @retry_schedule, @timeout_ms, @rate_limit, @max_in_flight, @disable_after_failures,
                     @disable_after_seconds, @metadata, @transform, @now, @now) RETURNING *`,
  endpoint: `SELECT * FROM endpoints WHERE app_id = @app_id AND id = @id`,
  endpointById: `SELECT * FROM endpoints WHERE id = @id`,
  // What changes without updated_at moving: the worker's view of health, read every batch.
  endpointState: `SELECT updated_at, status, disabled_reason, disabled_at, circuit_state, circuit_until, circuit_since,
                    consecutive_failures, failing_since, last_attempt_at FROM endpoints WHERE id = @id`,
  listEndpoints: `SELECT * FROM endpoints WHERE app_id = @app_id AND id > @after
                  AND (@status IS NULL OR status = @status) ORDER BY id LIMIT @limit`,
  // Fan-out reads only what changes without updated_at moving; the rest comes from the cache
  // keyed on updated_at (a publish to 50 endpoints read every column of all 50: 30 % of the
  // CPU at 1,000 single-event publishes/s).
  activeEndpointStates: `SELECT id, updated_at, status, disabled_reason, disabled_at, circuit_state, circuit_until, circuit_since,
                           consecutive_failures, failing_since, last_attempt_at
                         FROM endpoints WHERE app_id = @app_id AND status = 'active' ORDER BY id`,
  updateEndpoint: `UPDATE endpoints SET url = @url, description = @description, events = @events, status = @status,
                     filter = @filter, channels = @channels, transform = @transform,
                     disabled_reason = @disabled_reason, disabled_at = @disabled_at, headers = @headers,
                     retry_schedule = @retry_schedule, timeout_ms = @timeout_ms, rate_limit = @rate_limit,
                     max_in_flight = @max_in_flight, disable_after_failures = @disable_after_failures,
                     disable_after_seconds = @disable_after_seconds, metadata = @metadata,
                     consecutive_failures = @consecutive_failures, failing_since = @failing_since,
                     circuit_state = @circuit_state, circuit_until = @circuit_until, updated_at = MAX(@now, updated_at + 1)
                   WHERE app_id = @app_id AND id = @id RETURNING *`,
  rotateSecret: `UPDATE endpoints SET secret = @secret, previous_secrets = @previous_secrets, updated_at = MAX(@now, updated_at + 1)
                 WHERE app_id = @app_id AND id = @id RETURNING *`,
  deleteEndpoint: `DELETE FROM endpoints WHERE app_id = @app_id AND id = @id`,
  // Health after a batch of attempts: a success resets the run of failures; failures extend
  // it. RETURNING the count before and after lets the caller see thresholds being crossed.
  endpointHealth: `UPDATE endpoints SET
                     consecutive_failures = CASE WHEN @reset = 1 THEN @fails ELSE consecutive_failures + @fails END,
                     failing_since = CASE WHEN @fails = 0 THEN NULL
                                          WHEN @reset = 1 OR failing_since IS NULL THEN @first_failure
                                          ELSE failing_since END,
                     last_attempt_at = MAX(COALESCE(last_attempt_at, 0), @at)
                   WHERE id = @id
                     -- A healthy endpoint's row is written about once a second, not per batch.
                     AND (@fails > 0 OR consecutive_failures <> 0 OR circuit_state <> 'closed'
                          OR last_attempt_at IS NULL OR last_attempt_at < @at - 1000)
                   RETURNING app_id, consecutive_failures, failing_since, status, circuit_state, circuit_since,
                     disable_after_failures, disable_after_seconds`,
  // updated_at only ever grows: the worker's endpoint cache keys on it.
  disableEndpoint: `UPDATE endpoints SET status = 'disabled', disabled_reason = @reason, disabled_at = @now,
                      updated_at = MAX(@now, updated_at + 1) WHERE id = @id AND status = 'active' RETURNING app_id`,
  // circuit_since marks when the current state began; open ⇄ half_open is one outage, so it
  // keeps the outage's start (the probe cooldown grows with it).
  setCircuit: `UPDATE endpoints SET circuit_state = @state, circuit_until = @until,
                 circuit_since = CASE WHEN circuit_state = @state
                                        OR (circuit_state IN ('open', 'half_open') AND @state IN ('open', 'half_open'))
                                      THEN circuit_since ELSE @now END
               WHERE id = @id`,
  dueCircuits: `UPDATE endpoints SET circuit_until = @lease_until
                WHERE id IN (SELECT id FROM endpoints WHERE circuit_state <> 'closed' AND circuit_until <= @now
                             AND status = 'active' ORDER BY circuit_until LIMIT @limit)
                RETURNING *`,
  // Hold back an endpoint's waiting deliveries (disabled, or circuit opened). Deliveries
  // waiting on an ordering key stay as they are so their order survives.
  holdEndpoint: `UPDATE deliveries SET next_attempt_at = ${PARKED}
                 WHERE endpoint_id = @id AND status = 'pending' AND lease_owner IS NULL AND next_attempt_at < ${PARKED}`,
  // Release held-back deliveries oldest first; LIMIT -1 releases all.
  releaseHeld: `UPDATE deliveries SET next_attempt_at = @now
                WHERE id IN (SELECT id FROM deliveries WHERE endpoint_id = @id AND status = 'pending'
                             AND lease_owner IS NULL AND ${HELD_RANGE} ORDER BY next_attempt_at LIMIT @limit)`,
  claimHeld: `UPDATE deliveries SET lease_owner = @owner, next_attempt_at = @lease_until
              WHERE id IN (SELECT id FROM deliveries WHERE endpoint_id = @id AND status = 'pending'
                           AND lease_owner IS NULL AND ${HELD_RANGE} ORDER BY next_attempt_at, id LIMIT @limit)
                AND EXISTS (SELECT 1 FROM endpoints WHERE id = @id AND status = 'active' AND circuit_state = 'closed')
              RETURNING id, app_id, endpoint_id, event_pk, event_id, event_type, ordering_key, attempt_count, one_shot`,
  claimProbe: `UPDATE deliveries SET lease_owner = @owner, next_attempt_at = @lease_until
               WHERE id = (SELECT id FROM deliveries WHERE endpoint_id = @id AND status = 'pending'
                           AND lease_owner IS NULL AND ${HELD_RANGE} ORDER BY next_attempt_at LIMIT 1)
               RETURNING id, app_id, endpoint_id, event_pk, event_id, event_type, ordering_key, attempt_count, one_shot`,

  // ── events ────────────────────────────────────────────────────────────
  eventById: `SELECT * FROM events WHERE app_id = @app_id AND id = @id`,
  eventByIdempotencyKey: `SELECT * FROM events WHERE app_id = @app_id AND idempotency_key = @key`,
  insertEvent: `INSERT INTO events (app_id, id, type, timestamp, sequence, idempotency_key, ordering_key, channels, body,
                  deliveries, created_at)
                VALUES (@app_id, @id, @type, @timestamp, @sequence, @idempotency_key, @ordering_key, @channels, @body,
                  @deliveries, @now)`,
  listEvents: `SELECT * FROM events WHERE app_id = @app_id AND sequence > @after
               AND (@type IS NULL OR type = @type) ORDER BY sequence LIMIT @limit`,
  eventBody: `SELECT body, raw, headers FROM events WHERE pk = @pk`,

  // ── deliveries ────────────────────────────────────────────────────────
  insertDelivery: `INSERT INTO deliveries (id, app_id, endpoint_id, event_pk, event_id, event_type, status,
                     next_attempt_at, lease_owner, ordering_key, event_seq, created_at)
                   VALUES (@id, @app_id, @endpoint_id, @event_pk, @event_id, @event_type, 'pending',
                     @next_attempt_at, @lease_owner, @ordering_key, @event_seq, @now)`,
  // Does this endpoint have a pending delivery for the key? Then a new one waits its turn.
  keyBusy: `SELECT 1 FROM deliveries WHERE endpoint_id = @endpoint_id AND ordering_key = @key AND status = 'pending' LIMIT 1`,
  // After a keyed delivery finished for good: release the next one of its key, unless another
  // of the key is still under way (a manual retry of an old one, say).
  releaseNextInOrder: `UPDATE deliveries SET next_attempt_at = @now
                       WHERE id = (SELECT id FROM deliveries WHERE endpoint_id = @endpoint_id AND ordering_key = @key
                                   AND status = 'pending' AND next_attempt_at = ${ORDER_HELD} ORDER BY event_seq LIMIT 1)
                       AND NOT EXISTS (SELECT 1 FROM deliveries WHERE endpoint_id = @endpoint_id AND ordering_key = @key
                                       AND status = 'pending' AND next_attempt_at <> ${ORDER_HELD})`,
  delivery: `SELECT * FROM deliveries WHERE app_id = @app_id AND id = @id`,
  attemptsOf: `SELECT * FROM attempts WHERE delivery_id = @id ORDER BY number`,
  // Listing filters are optional; a NULL parameter disables its condition. One variant per
  // index (app, endpoint, event), because an `x IS NULL OR col = x` condition can't use an index.
  listDeliveries: `SELECT * FROM deliveries WHERE app_id = @app_id AND id < @before ${FILTERS}
                   ORDER BY id DESC LIMIT @limit`,
  // Filters with an index of their own (see migration 'portal sessions'); SQLite is told
  // which, as its planner would otherwise walk deliveries_app for the ORDER BY.
  listFailedDeliveries: `SELECT * FROM deliveries INDEXED BY deliveries_app_failed WHERE app_id = @app_id AND status = 'failed' AND id < @before
                   ${FILTERS} ORDER BY id DESC LIMIT @limit`,
  listFailedDeliveriesByEndpoint: `SELECT * FROM deliveries INDEXED BY deliveries_endpoint_failed WHERE endpoint_id = @endpoint_id AND status = 'failed'
                   AND id < @before AND app_id = @app_id ${FILTERS} ORDER BY id DESC LIMIT @limit`,
  listDeliveriesByType: `SELECT * FROM deliveries INDEXED BY deliveries_app_type WHERE app_id = @app_id AND event_type = @event_type
                   AND id < @before ${FILTERS} ORDER BY id DESC LIMIT @limit`,
  listDeliveriesByEndpoint: `SELECT * FROM deliveries WHERE endpoint_id = @endpoint_id AND id < @before
                   AND app_id = @app_id ${FILTERS} ORDER BY id DESC LIMIT @limit`,
  listDeliveriesByEvent: `SELECT * FROM deliveries
                   WHERE event_pk = (SELECT pk FROM events WHERE app_id = @app_id AND id = @event_id)
                   AND id < @before AND app_id = @app_id ${FILTERS} ORDER BY id DESC LIMIT @limit`,
  scheduleNow: `UPDATE deliveries SET next_attempt_at = @now WHERE id = @id`,
  reopen: `UPDATE deliveries SET status = 'pending', one_shot = 1, next_attempt_at = @now WHERE id = @id`,
  recover: `UPDATE deliveries SET status = 'pending', one_shot = 1, next_attempt_at = @now
            WHERE endpoint_id = @endpoint_id AND status = 'failed' AND created_at >= @since AND created_at < @until`,

  // Per time bucket and outcome, attempts counted by response time rounded to ≤10 % (exact
  // below 100 ms): percentiles come from these counts, and a day of a busy endpoint's
  // attempts comes back as a few thousand rows instead of a million.
  pendingOf: `SELECT COUNT(*) AS n FROM deliveries WHERE endpoint_id = @endpoint_id AND status = 'pending'`,
  attemptSeries: `SELECT CAST((started_at - @since) / @bucket_ms AS INTEGER) AS bucket,
                    CASE WHEN status_code >= 200 AND status_code < 300 THEN 1 ELSE 0 END AS ok,
                    CASE WHEN duration_ms < 100 THEN duration_ms WHEN duration_ms < 1000 THEN duration_ms / 10 * 10
                         WHEN duration_ms < 10000 THEN duration_ms / 100 * 100 ELSE duration_ms / 1000 * 1000 END AS ms,
                    COUNT(*) AS n, SUM(duration_ms) AS total_ms
                  FROM attempts WHERE endpoint_id = @endpoint_id AND started_at >= @since AND started_at < @until
                  GROUP BY 1, 2, 3`,

  // ── worker ────────────────────────────────────────────────────────────
  // One statement claims a batch. SQLite has a single worker process, so a lease lasts until
  // that process stops: releaseAll at the next start makes whatever it held due again. Only
  // lease_owner changes (its due time stays), so the claim touches one index entry per row.
  claim: `UPDATE deliveries SET lease_owner = @owner
          WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND lease_owner IS NULL
                       AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit)
          RETURNING id, app_id, endpoint_id, event_pk, event_id, event_type, ordering_key, attempt_count, one_shot`,
  // Held deliveries sort last; the idle worker wakes for the earliest real schedule.
  nextDue: `SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE status = 'pending' AND lease_owner IS NULL`,
  // Inserting through SELECT … WHERE EXISTS skips attempts of deliveries deleted meanwhile
  // (their endpoint or app was deleted while the request was in flight).
  insertAttempt: `INSERT INTO attempts (id, delivery_id, endpoint_id, number, started_at, duration_ms, status_code,
                    response_body, error)
                  SELECT @id, @delivery_id, @endpoint_id, @number, @started_at, @duration_ms, @status_code,
                    @response_body, @error
                  WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = @delivery_id)`,
  finishAttempt: `UPDATE deliveries SET status = @status, attempt_count = @number, last_status_code = @status_code,
                    last_error = @error, next_attempt_at = @next_attempt_at, lease_owner = NULL,
                    last_attempt_at = @started_at,
                    delivered_at = CASE WHEN @status = 'success' THEN @now ELSE delivered_at END,
                    one_shot = CASE WHEN @status = 'pending' THEN one_shot ELSE 0 END
                  WHERE id = @delivery_id`,
  release: `UPDATE deliveries SET lease_owner = NULL, next_attempt_at = @at WHERE id = @id`,
  // Runs once at start; a full scan rather than an index on lease_owner, which would cost
  // two extra index writes on every delivery's hot path.
  releaseAll: `UPDATE deliveries SET lease_owner = NULL, next_attempt_at = @now
               WHERE status = 'pending' AND lease_owner IS NOT NULL`,
  queueDepth: `SELECT COUNT(*) AS n FROM deliveries INDEXED BY deliveries_pending WHERE status = 'pending'`,
  // Retention walks events along the rowid, which follows publish time, so no index on
  // created_at is needed: the cutoff rowid is found by bisection, then batches below it go.
  eventPkRange: `SELECT MIN(pk) AS lo, MAX(pk) AS hi FROM events`,
  eventCreatedAtOrAfter: `SELECT pk, created_at FROM events WHERE pk >= @pk ORDER BY pk LIMIT 1`,
  prune: `DELETE FROM events WHERE pk IN (
            SELECT e.pk FROM events e WHERE e.pk < @cutoff
            AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_pk = e.pk AND d.status = 'pending')
            AND NOT EXISTS (SELECT 1 FROM inbound_requests r WHERE r.event_pk = e.pk AND (r.waiting = 1 OR r.app_pending = 1))
            ORDER BY e.pk LIMIT @limit)`,

  // ── inbound: sources ──────────────────────────────────────────────────
  insertSource: `INSERT INTO sources (id, app_id, name, verification, dedup, ordering, destinations, forward_headers,
                   rate_limit, response, poll, created_at, updated_at)
                 VALUES (@id, @app_id, @name, @verification, @dedup, @ordering, @destinations, @forward_headers,
                   @rate_limit, @response, @poll, @now, @now) RETURNING *`,
  source: `SELECT * FROM sources WHERE id = @id`,
  listSources: `SELECT * FROM sources WHERE id > @after ORDER BY id LIMIT @limit`,
  updateSource: `UPDATE sources SET name = @name, verification = @verification, dedup = @dedup, ordering = @ordering,
                   destinations = @destinations, forward_headers = @forward_headers, rate_limit = @rate_limit,
                   response = @response, poll = @poll, updated_at = MAX(@now, updated_at + 1)
                 WHERE id = @id RETURNING *`,

  // ── inbound: requests ─────────────────────────────────────────────────
  insertRequest: `INSERT INTO inbound_requests (id, source_id, status, reason, detail, received_at, headers, content_type,
                    body_size, dedup_key, ordering_key, sequence, event_pk, waiting, release_seq, app_pending, routes)
                  VALUES (@id, @source_id, @status, @reason, @detail, @received_at, @headers, @content_type,
                    @body_size, @dedup_key, @ordering_key, @sequence, @event_pk, @waiting, @release_seq, @app_pending, @routes)`,
  insertRawEvent: `INSERT INTO events (app_id, id, type, timestamp, sequence, ordering_key, body, raw, headers, deliveries, created_at)
                   VALUES (@app_id, @id, 'inbound.request', @now, @sequence, @ordering_key, '', @raw, @headers, @deliveries, @now)`,
  addEventDeliveries: `UPDATE events SET deliveries = deliveries + @n WHERE pk = @pk`,
  // A key is taken if absent or expired; `changes` says whether this request took it.
  claimDedupKey: `INSERT INTO inbound_dedup (source_id, key, request_id, expires_at) VALUES (@source_id, @key, @request_id, @expires_at)
                  ON CONFLICT (source_id, key) DO UPDATE SET request_id = excluded.request_id, expires_at = excluded.expires_at
                  WHERE inbound_dedup.expires_at <= @now`,
  dedupOwner: `SELECT request_id FROM inbound_dedup WHERE source_id = @source_id AND key = @key`,
  sequenceState: `SELECT next_seq, gap_deadline FROM inbound_sequences WHERE source_id = @source_id AND key = @key`,
  saveSequence: `INSERT INTO inbound_sequences (source_id, key, next_seq, gap_timeout_ms, gap_deadline)
                 VALUES (@source_id, @key, @next_seq, @gap_timeout_ms, @gap_deadline)
                 ON CONFLICT (source_id, key) DO UPDATE SET next_seq = excluded.next_seq,
                   gap_timeout_ms = excluded.gap_timeout_ms, gap_deadline = excluded.gap_deadline`,
  waitingAt: `SELECT id, event_pk, ordering_key, routes FROM inbound_requests
              WHERE source_id = @source_id AND ordering_key = @key AND sequence = @sequence AND waiting = 1`,
  // A key's gap deadline runs from the arrival of its oldest request still waiting.
  oldestWaiting: `SELECT min(received_at) AS at FROM inbound_requests
                  WHERE source_id = @source_id AND ordering_key = @key AND waiting = 1`,
  firstWaiting: `SELECT id, event_pk, ordering_key, sequence, routes FROM inbound_requests
                 WHERE source_id = @source_id AND ordering_key = @key AND waiting = 1 ORDER BY sequence LIMIT 1`,
  releaseRequest: `UPDATE inbound_requests SET waiting = 0, release_seq = @release_seq, app_pending = @app_pending,
                     gap_from = @gap_from, gap_to = @gap_to WHERE source_id = @source_id AND id = @id`,
  dueGaps: `SELECT s.source_id, s.key, s.next_seq, s.gap_timeout_ms FROM inbound_sequences s
            WHERE s.gap_deadline <= @now ORDER BY s.gap_deadline LIMIT @limit`,
  appEndpointIds: `SELECT id, status FROM endpoints WHERE app_id = @app_id ORDER BY id`,
  listRequests: `SELECT * FROM inbound_requests WHERE source_id = @source_id AND id < @before
                 AND (@status IS NULL OR status = @status) AND (@via IS NULL OR via = @via) ORDER BY id DESC LIMIT @limit`,
  request: `SELECT * FROM inbound_requests WHERE source_id = @source_id AND id = @id`,
  requestBody: `SELECT e.raw, r.content_type FROM inbound_requests r JOIN events e ON e.pk = r.event_pk
                WHERE r.source_id = @source_id AND r.id = @id`,
  // Delivery states of a page of requests' events, through deliveries_event.
  deliveryCounts: `SELECT event_pk, status, COUNT(*) AS n FROM deliveries
                   WHERE event_pk IN (SELECT value FROM json_each(@pks)) GROUP BY event_pk, status`,
  appForwards: `SELECT r.id, r.source_id, r.ordering_key, r.received_at, r.content_type, r.routes, e.raw, e.headers
                FROM inbound_requests r JOIN events e ON e.pk = r.event_pk
                WHERE r.app_pending = 1 ORDER BY r.release_seq LIMIT @limit`,
  finishAppForward: `UPDATE inbound_requests SET app_pending = 0, app_error = @error WHERE source_id = @source_id AND id = @id`,
  replayRequest: `UPDATE deliveries SET status = 'pending', one_shot = 1, next_attempt_at = @now
                  WHERE event_pk = @event_pk AND status IN ('failed', 'success') AND lease_owner IS NULL`,
  // Request ids are time-ordered, so a time range is an id range on the source's index.
  replayRange: `UPDATE deliveries SET status = 'pending', one_shot = 1, next_attempt_at = @now
                WHERE event_pk IN (SELECT event_pk FROM inbound_requests WHERE source_id = @source_id
                                   AND id >= @from_id AND id < @to_id AND event_pk IS NOT NULL)
                AND status = @status AND lease_owner IS NULL`,
  pruneDedup: `DELETE FROM inbound_dedup WHERE (source_id, key) IN
                 (SELECT source_id, key FROM inbound_dedup WHERE expires_at <= @now ORDER BY expires_at LIMIT @limit)`,
  sourceIds: `SELECT id FROM sources`,
  pruneRequests: `DELETE FROM inbound_requests WHERE source_id = @source_id AND id IN
                    (SELECT id FROM inbound_requests WHERE source_id = @source_id AND id < @before_id
                     AND waiting = 0 AND app_pending = 0 LIMIT @limit)`,
  // ── alerts ────────────────────────────────────────────────────────────
  insertAlertRule: `INSERT INTO alert_rules (id, name, app_id, endpoint_id, source_id, condition, channels, repeat_seconds, enabled,
                      created_by, created_at, updated_at)
                    VALUES (@id, @name, @app_id, @endpoint_id, @source_id, @condition, @channels, @repeat_seconds, @enabled,
                      @created_by, @now, @now) RETURNING *`,
  alertRule: `SELECT * FROM alert_rules WHERE id = @id`,
  listAlertRules: `SELECT * FROM alert_rules WHERE id > @after AND (@app_id IS NULL OR app_id = @app_id) ORDER BY id LIMIT @limit`,
  // A changed condition (or a rule switched off) starts again from ok, silently (@reset).
  updateAlertRule: `UPDATE alert_rules SET name = @name, condition = @condition, channels = @channels, repeat_seconds = @repeat_seconds,
                      enabled = @enabled,
                      state = CASE WHEN @reset = 1 THEN 'ok' ELSE state END,
                      last_transition_at = CASE WHEN @reset = 1 AND state <> 'ok' THEN @now ELSE last_transition_at END,
                      last_value = CASE WHEN @reset = 1 THEN NULL ELSE last_value END,
                      updated_at = MAX(@now, updated_at + 1)
                    WHERE id = @id RETURNING *`,
  deleteAlertRule: `DELETE FROM alert_rules WHERE id = @id`,
  alertHistory: `SELECT * FROM alert_history WHERE rule_id = @id ORDER BY id DESC LIMIT 100`,
  ensureAlertsApp: `INSERT INTO apps (id, uid, name, metadata, created_at, updated_at)
                    VALUES (@id, NULL, 'Herald alerts', '{"herald":"alerts"}', @now, @now) ON CONFLICT (id) DO NOTHING`,
  enabledAlertRules: `SELECT * FROM alert_rules WHERE enabled = 1 ORDER BY id`,
  alertEndpoints: `SELECT e.id, e.app_id, a.name AS app_name, e.url, e.status, e.disabled_reason, e.disabled_at, e.consecutive_failures
                   FROM endpoints e JOIN apps a ON a.id = e.app_id
                   WHERE e.app_id <> @alerts_app
                     AND (@all = 1 OR e.app_id IN (SELECT value FROM json_each(@app_ids)) OR e.id IN (SELECT value FROM json_each(@endpoint_ids)))`,
  // Each (endpoint, since) pair of the round is one range of attempts_endpoint_time, which
  // covers everything read here (CROSS JOIN keeps the pairs as the outer loop). Durations are
  // rounded as in attemptSeries, so a window of a busy endpoint comes back as ~100 rows.
  alertAttemptFigures: `SELECT a.endpoint_id, w.since, a.status_code,
                          CASE WHEN a.duration_ms < 100 THEN a.duration_ms WHEN a.duration_ms < 1000 THEN a.duration_ms / 10 * 10
                               WHEN a.duration_ms < 10000 THEN a.duration_ms / 100 * 100 ELSE a.duration_ms / 1000 * 1000 END AS ms,
                          COUNT(*) AS n
                        FROM (SELECT json_extract(value, '$.e') AS endpoint_id, json_extract(value, '$.s') AS since FROM json_each(@watch)) w
                        CROSS JOIN attempts a
                        WHERE a.endpoint_id = w.endpoint_id AND a.started_at >= w.since AND a.started_at < @now
                        GROUP BY a.endpoint_id, w.since, a.status_code, ms`,
  // Along deliveries_due: what it costs is the size of the queue, not of the endpoints' history.
  // In-flight deliveries (leased) are not in it and not counted.
  alertQueueFigures: `SELECT endpoint_id, COUNT(*) AS waiting, MIN(created_at) AS oldest_at FROM deliveries INDEXED BY deliveries_due
                      WHERE status = 'pending' AND lease_owner IS NULL AND endpoint_id IN (SELECT value FROM json_each(@endpoint_ids))
                      GROUP BY endpoint_id`,
  alertSources: `SELECT id, name FROM sources ORDER BY id`,
  // Request ids are time-ordered (newId('req', receivedAt)): a window is a range of the primary key.
  alertRejectionFigures: `SELECT w.source_id, w.since, s.name, COUNT(r.id) AS n
                          FROM (SELECT json_extract(value, '$.s') AS source_id, json_extract(value, '$.t') AS since,
                                       json_extract(value, '$.i') AS since_id FROM json_each(@watch)) w
                          JOIN sources s ON s.id = w.source_id
                          LEFT JOIN inbound_requests r ON r.source_id = w.source_id AND r.id >= w.since_id AND r.status = 'rejected'
                          GROUP BY w.source_id, w.since, s.name`,
  alertFailureBreakdown: `SELECT endpoint_id, status_code, error, COUNT(*) AS n FROM attempts
                          WHERE endpoint_id IN (SELECT value FROM json_each(@endpoint_ids)) AND started_at >= @since AND started_at < @now
                            AND (status_code IS NULL OR status_code < 200 OR status_code >= 300)
                          GROUP BY endpoint_id, status_code, error ORDER BY n DESC LIMIT 20`,
  // The transition happens only if the rule is still as the evaluation read it: of several
  // evaluators (or an evaluation racing an edit) exactly one gets the row back.
  transitionAlertRule: `UPDATE alert_rules SET state = @to,
                          last_transition_at = CASE WHEN state <> @to THEN @now ELSE last_transition_at END,
                          last_notified_at = @now, last_value = @value
                        WHERE id = @id AND enabled = 1 AND state = @state AND updated_at = @updated_at
                          AND last_notified_at IS @last_notified_at
                        RETURNING id`,
  insertAlertHistory: `INSERT INTO alert_history (rule_id, at, kind, value, threshold, summary, figures)
                       VALUES (@rule_id, @at, @kind, @value, @threshold, @summary, @figures)`,
  pruneAlertHistory: `DELETE FROM alert_history WHERE rule_id = @rule_id
                        AND id <= (SELECT id FROM alert_history WHERE rule_id = @rule_id ORDER BY id DESC LIMIT 1 OFFSET 100)`,
  insertAlertNotification: `INSERT INTO alert_outbox (id, rule_id, channel, message, next_attempt_at, created_at)
                            VALUES (@id, @rule_id, @channel, @message, @now, @now)`,
  // The claim moves next_attempt_at to the lease's end: one that isn't finished is due again then.
  claimAlertNotifications: `UPDATE alert_outbox SET next_attempt_at = @lease_until, attempts = attempts + 1
                            WHERE id IN (SELECT id FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= @now
                                         ORDER BY next_attempt_at LIMIT @limit)
                            RETURNING *`,
  deleteAlertNotification: `DELETE FROM alert_outbox WHERE id = @id`,
  failAlertNotification: `UPDATE alert_outbox SET status = CASE WHEN @retry_at IS NULL THEN 'failed' ELSE 'pending' END,
                            next_attempt_at = COALESCE(@retry_at, next_attempt_at), last_error = @error
                          WHERE id = @id`,

  // ── the database's own settings ───────────────────────────────────────
  setting: `SELECT value FROM herald_settings WHERE name = @name`,
  insertSetting: `INSERT INTO herald_settings (name, value) VALUES (@name, @value) ON CONFLICT (name) DO NOTHING`,
  sealedSecret: `SELECT secret FROM endpoints WHERE secret LIKE 'enc:%' LIMIT 1`,

  // ── portal and console sessions ───────────────────────────────────────
  insertPortalToken: `INSERT INTO portal_tokens (token_hash, app_id, capabilities, label, expires_at, created_at)
                      VALUES (@token_hash, @app_id, @capabilities, @label, @expires_at, @now)`,
  // The use and its check are one statement: two tabs opening one link can't both get in.
  redeemPortalToken: `UPDATE portal_tokens SET used_at = @now
                      WHERE token_hash = @token_hash AND used_at IS NULL AND expires_at > @now RETURNING *`,
  insertSession: `INSERT INTO ui_sessions (id_hash, kind, app_id, capabilities, label, expires_at, created_at)
                  VALUES (@id_hash, @kind, @app_id, @capabilities, @label, @expires_at, @created_at)`,
  session: `SELECT * FROM ui_sessions WHERE id_hash = @id_hash AND expires_at > @now`,
  deleteSession: `DELETE FROM ui_sessions WHERE id_hash = @id_hash`,
  expireAppSessions: `DELETE FROM ui_sessions WHERE app_id = @app_id AND (@label IS NULL OR label = @label)`,
  expireAppTokens: `DELETE FROM portal_tokens WHERE app_id = @app_id AND used_at IS NULL AND (@label IS NULL OR label = @label)`,
  purgeSessions: `DELETE FROM ui_sessions WHERE expires_at <= @now`,
  purgePortalTokens: `DELETE FROM portal_tokens WHERE expires_at <= @now`,
} as const;
