import { isRelay } from '../core/relay.js';
import type { Delivery, Endpoint } from '../store/types.js';
import type { ApiContext } from './context.js';

export type HeldReason = 'endpoint_disabled' | 'circuit_open' | 'circuit_recovering' | 'relay_not_connected' | 'ordering_key';
export interface Held { heldReason: HeldReason | null; nextProbeAt: number | null }

const NOT_HELD: Held = { heldReason: null, nextProbeAt: null };

/** Why a held-back delivery waits, from its endpoint's state now. */
function parkedBecause(ep: Endpoint | null): Held {
  if (!ep || ep.status !== 'active') return { heldReason: 'endpoint_disabled', nextProbeAt: null };
  if (ep.circuitState === 'open' || ep.circuitState === 'half_open') return { heldReason: 'circuit_open', nextProbeAt: ep.circuitUntil };
  if (ep.circuitState === 'recovering') return { heldReason: 'circuit_recovering', nextProbeAt: ep.circuitUntil };
  // A closed circuit on a relay endpoint: it waits for `herald listen` (or is about to be taken by the process that has it).
  return isRelay(ep) ? { heldReason: 'relay_not_connected', nextProbeAt: null } : { heldReason: null, nextProbeAt: null };
}

/**
 * For each delivery of a page, why it waits (the delivery log would otherwise show a pending
 * delivery with no next attempt and nothing to say). Endpoints are read once per page.
 */
export async function heldReasons(ctx: ApiContext, appId: string, deliveries: Delivery[]): Promise<(d: Delivery) => Held> {
  const endpoints = new Map<string, Endpoint | null>();
  for (const d of deliveries) {
    if (d.held === 'parked' && !endpoints.has(d.endpointId)) endpoints.set(d.endpointId, await ctx.store.getEndpoint(appId, d.endpointId));
  }
  return (d) => (d.held === 'ordering' ? { heldReason: 'ordering_key', nextProbeAt: null } : d.held === 'parked' ? parkedBecause(endpoints.get(d.endpointId) ?? null) : NOT_HELD);
}
