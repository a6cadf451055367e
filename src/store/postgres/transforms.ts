import type { TransformStore } from '../transforms.js';
import { openTransformed, sealTransformed } from '../transform-rows.js';
import type { TransformedRequest } from '../types.js';
import { PostgresAlerts } from './alerts.js';

/** Endpoint transforms' outputs on PostgreSQL: a column of the delivery (see TransformStore). */
export class PostgresTransforms extends PostgresAlerts implements TransformStore {
  async saveTransformed(items: Array<{ deliveryId: string; request: TransformedRequest }>): Promise<void> {
    if (items.length === 0) return;
    await this.run('saveTransformed', {
      ids: items.map((i) => i.deliveryId), values: items.map((i) => sealTransformed(this.sealer, i.request)),
    });
  }

  async getTransformed(deliveryId: string): Promise<TransformedRequest | null> {
    const { rows } = await this.run<{ transformed: string | null }>('transformedOf', { id: deliveryId });
    return openTransformed(this.sealer, rows[0]?.transformed);
  }
}
