/**
 * Group commit of the PostgreSQL inbound store: unsequenced requests that a process receives
 * together are written in one transaction, in a few statements whatever their number
 * (PostgresInbound queues them; sequenced requests go one by one under their key's lock).
 */
import { HeraldError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { InboundInput, IngestResult, Source } from '../inbound.js';
import { jsonOrNull, liveTargets, noDeliveries, releaseTarget, routed, toRequest } from '../rows.js';
import { ORDER_HELD_AT, PARKED_AT } from '../types.js';
import type { Run } from './connection.js';

/** An unsequenced ingest waiting for its group. */
export interface Queued {
  source: Source;
  input: InboundInput;
  now: number;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

/**
 * The state of destinations as of this transaction (see InboundInput.endpointIds): those
 * deleted since the gateway loaded the source are missing. The rows stay KEY SHARE locked
 * until the commit, so a destination can't be enabled (its probe finding nothing held back)
 * between this read and the commit of a delivery written held back for it.
 */
export async function destinationStatuses(run: Run, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await run<{ id: string; status: string }>('destinationStatuses', { ids: [...new Set(ids)] });
  return new Map(rows.map((r) => [r.id, r.status]));
}

const pairKey = (a: string, b: string) => `${a}\u0000${b}`;
/** Code-unit order, the same in every process (no locale). */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Writes unsequenced requests in a few statements whatever their number: the sources'
 * shared locks and the dedup claims (claimGroup), the (endpoint, key) locks of those with an
 * ordering key, then every row at once (acceptGroup). Results in the group's order.
 *
 * Deadlock-free because each kind of lock is taken in the lock order of sql.ts (source
 * locks, dedup keys, app rows, then (endpoint, key) locks, last the new rows) and, within a
 * kind, in one statement and in an order every process shares: sources sorted by id, dedup
 * keys by (source, key), apps by id, (endpoint, key) locks by hash (LOCK_KEYS). A group
 * never takes a sequence key's lock. The sources' rows it only share-locks (foreign keys),
 * which conflicts with deleteSource alone, and that holds the source's exclusive lock first,
 * which it can't get while the group holds the shared one. So two groups wait on each other
 * at most one way, and a lone ingest, releaseGaps, recordOutcomes or deleteSource meets a
 * group as it would meet another lone ingest. Should PostgreSQL report a deadlock all the
 * same, tx runs the group again, and failing that writeGroup falls back to one transaction
 * per request.
 */
export async function ingestGroup(run: Run, group: Queued[], wake: (run: Run) => Promise<unknown>): Promise<IngestResult[]> {
  // Dedup keys: the first request of the group with a key claims it for the group; a later
  // one with the same key is its duplicate, as it would be one transaction later.
  const claims = new Map<string, { source_id: string; key: string; request_id: string; expires_at: number; now: number }>();
  for (const { source, input, now } of group) {
    if (input.dedupKey === null) continue;
    const k = pairKey(source.id, input.dedupKey);
    if (!claims.has(k)) claims.set(k, { source_id: source.id, key: input.dedupKey, request_id: input.id, expires_at: now + input.dedupTtlMs, now });
  }
  const lockSources = [...new Set(group.map((q) => q.source.id))].sort(byText);
  const owners = new Map<string, string>();
  if (claims.size > 0) {
    const sorted = [...claims.values()].sort((a, b) => byText(a.source_id, b.source_id) || byText(a.key, b.key));
    const { rows } = await run('claimGroup', {
      lock_sources: lockSources, source_ids: sorted.map((c) => c.source_id), keys: sorted.map((c) => c.key),
      request_ids: sorted.map((c) => c.request_id), expires_ats: sorted.map((c) => c.expires_at), nows: sorted.map((c) => c.now),
    });
    for (const r of rows) owners.set(pairKey(r.source_id, r.key), r.request_id);
  } else {
    await run('lockGroupSources', { lock_sources: lockSources });
  }

  const statuses = await destinationStatuses(run, group.flatMap((q) => q.input.endpointIds));
  const rows = group.map(({ source, input, now }) => {
    const owner = input.dedupKey === null ? input.id : owners.get(pairKey(source.id, input.dedupKey));
    if (owner === undefined) throw new HeraldError('not_found', `source '${source.id}' not found`);
    const dup = owner !== input.id;
    // Only the destinations whose filters matched (the gateway decided: InboundInput.routes).
    const live = routed(releaseTarget(source, liveTargets(dup ? [] : input.endpointIds, statuses)), input.routes);
    return {
      source, input, now, owner: dup ? owner : null,
      hasApps: !dup && live.hasApps,
      endpointIds: live.endpointIds, parked: live.parked,
    };
  });

  // Deliveries of an ordering key wait while their endpoint has another of the key pending:
  // decided under the (endpoint, key) locks, as in release, and in the group's order.
  const busy = new Set<string>();
  const keyed = rows.filter((r) => r.input.orderingKey !== null && r.endpointIds.length > 0);
  if (keyed.length > 0) {
    // Every app the group writes events of, not only the keyed ones': none is share-locked
    // after the (endpoint, key) locks, as publish takes them the other way round.
    const apps = rows.filter((r) => r.owner === null).map((r) => r.source.appId);
    await run('shareGroupApps', { app_ids: [...new Set(apps)].sort(byText) });
    const pairs = keyed.flatMap((r) => r.endpointIds.map((e) => [e, r.input.orderingKey!] as const));
    const arrays = { endpoint_ids: pairs.map((p) => p[0]), keys: pairs.map((p) => p[1]) };
    await run('lockKeys', arrays);
    for (const r of (await run('busyKeys', arrays)).rows) busy.add(pairKey(r.endpoint_id, r.ordering_key));
  }
  const dl = { delivery_ids: [] as string[], delivery_ns: [] as number[], endpoint_ids: [] as string[], next_attempt_ats: [] as number[] };
  let due = false;
  rows.forEach((r, i) => {
    const key = r.input.orderingKey;
    for (const endpointId of r.endpointIds) {
      const waits = key !== null && busy.has(pairKey(endpointId, key));
      if (key !== null) busy.add(pairKey(endpointId, key));
      if (!waits && !r.parked.has(endpointId)) due = true;
      dl.delivery_ids.push(newId('dlv', r.now)); dl.delivery_ns.push(i + 1); dl.endpoint_ids.push(endpointId);
      dl.next_attempt_ats.push(waits ? ORDER_HELD_AT : r.parked.has(endpointId) ? PARKED_AT : r.now);
    }
  });
  const col = <T>(f: (r: (typeof rows)[number]) => T): T[] => rows.map(f);
  const written = (await run('acceptGroup', {
    ...dl,
    ids: col((r) => r.input.id), source_ids: col((r) => r.source.id), app_ids: col((r) => r.source.appId),
    statuses: col((r) => (r.owner === null ? 'accepted' : 'duplicate')),
    reasons: col((r) => (r.owner === null ? null : 'duplicate_key')),
    details: col((r) => (r.owner === null ? null : `same ${r.source.dedup?.key ?? 'key'} as ${r.owner}`)),
    received_ats: col((r) => r.input.receivedAt), headers: col((r) => JSON.stringify(r.input.loggedHeaders)),
    content_types: col((r) => r.input.contentType), body_sizes: col((r) => r.input.body.length),
    dedup_keys: col((r) => r.input.dedupKey), ordering_keys: col((r) => r.input.orderingKey),
    sequences: col((r) => r.input.sequence), raws: col((r) => (r.owner === null ? r.input.body : null)),
    forward_headers: col((r) => JSON.stringify(r.input.forwardHeaders)), per_requests: col((r) => r.endpointIds.length),
    app_pendings: col((r) => r.hasApps), nows: col((r) => r.now),
    routes: col((r) => (r.owner === null ? jsonOrNull(r.input.routes) : null)),
  })).rows;
  const byId = new Map(written.map((w) => [w.id as string, w]));
  if (byId.size !== rows.length) throw new HeraldError('not_found', 'a source of the group is gone');
  // Work for a worker in whichever process: deliveries due now, or the app-destination outbox.
  if (due || rows.some((r) => r.hasApps)) await wake(run);
  return rows.map((r) => ({
    request: toRequest(byId.get(r.input.id)!, { ...noDeliveries(), pending: r.endpointIds.length }),
    duplicateOf: r.owner, leased: [],
  }));
}
