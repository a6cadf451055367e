/**
 * The PostgreSQL statements of inbound polling (postgres/poll.ts), spread into sql.ts's TEXT
 * so they compile and prepare like the others. Leases are timed by the database's clock
 * (DB_NOW): processes' clocks may disagree, and a lease is what keeps two of them from
 * polling one source at once.
 */
const DB_NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export const POLL_TEXT = {
  // Due: never polled (no row), or next_poll_at passed; and no live lease.
  duePolls: `SELECT s.id FROM sources s LEFT JOIN source_polls p ON p.source_id = s.id
             WHERE s.poll IS NOT NULL AND COALESCE(p.next_poll_at, 0) <= :now
               AND (p.lease_until IS NULL OR p.lease_until <= ${DB_NOW})
             ORDER BY COALESCE(p.next_poll_at, 0), s.id LIMIT :limit`,
  // The check and the take are one statement. Two processes inserting the first row at once:
  // the second waits for the first's commit, then its WHERE sees the live lease and takes nothing.
  // The next time is cleared: a run a crash cuts short is due again once its lease expires.
  claimPoll: `INSERT INTO source_polls (source_id, lease_owner, lease_until)
              SELECT id, :owner::text, ${DB_NOW} + :lease_ms::bigint FROM sources WHERE id = :source_id AND poll IS NOT NULL
              ON CONFLICT (source_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until,
                next_poll_at = NULL
              WHERE (source_polls.lease_until IS NULL OR source_polls.lease_until <= ${DB_NOW})
                AND (NOT :due::boolean OR COALESCE(source_polls.next_poll_at, 0) <= :now::bigint)
              RETURNING *`,
  // Held until the page commits: a claim by another process waits, then finds the lease renewed.
  pollLeaseForUpdate: `SELECT lease_owner FROM source_polls WHERE source_id = :source_id AND lease_owner = :owner FOR UPDATE`,
  liveDedupKeys: `SELECT key FROM inbound_dedup WHERE source_id = :source_id AND expires_at > :now AND key = ANY(:keys::text[])`,
  markPolled: `UPDATE inbound_requests SET via = 'poll' WHERE source_id = :source_id AND id = ANY(:ids::text[])`,
  savePollCursor: `UPDATE source_polls SET cursor = :cursor::text, lease_until = ${DB_NOW} + :lease_ms::bigint
                   WHERE source_id = :source_id AND lease_owner = :owner`,
  finishPoll: `UPDATE source_polls SET last_poll_at = :last_poll_at, last_result = :last_result::json, next_poll_at = :next_poll_at,
                 failures = :failures, lease_owner = NULL, lease_until = NULL
               WHERE source_id = :source_id AND lease_owner = :owner`,
  pollState: `SELECT * FROM source_polls WHERE source_id = :source_id`,
  releasePollLeases: `UPDATE source_polls SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`,
} as const;
