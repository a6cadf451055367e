/**
 * The SQLite statements of inbound polling (sqlite/poll.ts), spread into sql.ts's SQL so they
 * are prepared with the others. Leases are timed by the caller's clock: one process per file.
 */
export const POLL_SQL = {
  // Due: never polled (no row), or next_poll_at passed; and no run under way.
  duePolls: `SELECT s.id FROM sources s LEFT JOIN source_polls p ON p.source_id = s.id
             WHERE s.poll IS NOT NULL AND COALESCE(p.next_poll_at, 0) <= @now
               AND (p.lease_until IS NULL OR p.lease_until <= @now)
             ORDER BY COALESCE(p.next_poll_at, 0), s.id LIMIT @limit`,
  // The check and the take are one statement: two callers can't both get the lease. The next
  // time is cleared: a run a crash cuts short is due again as soon as its lease is free.
  claimPoll: `INSERT INTO source_polls (source_id, lease_owner, lease_until)
              SELECT id, @owner, @lease_until FROM sources WHERE id = @source_id AND poll IS NOT NULL
              ON CONFLICT (source_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until,
                next_poll_at = NULL
              WHERE (source_polls.lease_until IS NULL OR source_polls.lease_until <= @now)
                AND (@due = 0 OR COALESCE(source_polls.next_poll_at, 0) <= @now)
              RETURNING *`,
  pollLease: `SELECT lease_owner FROM source_polls WHERE source_id = @source_id AND lease_owner = @owner`,
  // Keys of the page a webhook (or an earlier poll) holds already: those items leave no row.
  liveDedupKeys: `SELECT key FROM inbound_dedup WHERE source_id = @source_id AND expires_at > @now
                    AND key IN (SELECT value FROM json_each(@keys))`,
  markPolled: `UPDATE inbound_requests SET via = 'poll' WHERE source_id = @source_id AND id = @id`,
  savePollCursor: `UPDATE source_polls SET cursor = @cursor, lease_until = @lease_until
                   WHERE source_id = @source_id AND lease_owner = @owner`,
  finishPoll: `UPDATE source_polls SET last_poll_at = @last_poll_at, last_result = @last_result, next_poll_at = @next_poll_at,
                 failures = @failures, lease_owner = NULL, lease_until = NULL
               WHERE source_id = @source_id AND lease_owner = @owner`,
  pollState: `SELECT * FROM source_polls WHERE source_id = @source_id`,
  releasePollLeases: `UPDATE source_polls SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`,
} as const;
