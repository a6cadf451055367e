import type { TransformStore } from '../transforms.js';
import { openTransformed, sealTransformed } from '../transform-rows.js';
import type { TransformedRequest } from '../types.js';
import { SqliteAlerts } from './alerts.js';

/** Endpoint transforms' outputs on SQLite: a column of the delivery (see TransformStore). */
export class SqliteTransforms extends SqliteAlerts implements TransformStore {
  async saveTransformed(items: Array<{ deliveryId: string; request: TransformedRequest }>): Promise<void> {
    if (items.length === 0) return;
    this.db.transaction(() => {
      for (const { deliveryId, request } of items) this.s.saveTransformed.run({ id: deliveryId, transformed: sealTransformed(this.sealer, request) });
    })();
  }

  async getTransformed(deliveryId: string): Promise<TransformedRequest | null> {
    const row = this.s.transformedOf.get({ id: deliveryId }) as { transformed: string | null } | undefined;
    return openTransformed(this.sealer, row?.transformed);
  }
}
