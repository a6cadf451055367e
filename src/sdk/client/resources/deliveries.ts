import type { PageList } from '../pages.js';
import type { Transport } from '../transport.js';
import type { Delivery, DeliveryDetail, DeliveryListQuery } from '../types.js';

/** The delivery log: one delivery per event and endpoint, with every attempt. */
export class Deliveries {
  constructor(private readonly t: Transport) {}

  /** newest first; filter by status, endpointId, eventId or eventType */
  list(app: string, query: DeliveryListQuery = {}): PageList<Delivery> {
    return this.t.list<Delivery>('listDeliveries', { app }, query);
  }
  get(app: string, id: string): Promise<DeliveryDetail> {
    return this.t.call('getDelivery', { params: { app, id }, retry: true });
  }
  /** attempt now; a finished delivery gets exactly one more attempt */
  retry(app: string, id: string): Promise<{ id: string; status: 'pending' }> {
    return this.t.call('retryDelivery', { params: { app, id } });
  }
}
