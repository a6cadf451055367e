import type { TransformedRequest } from './types.js';

/**
 * Where an endpoint transform's output lives: on its delivery (deliveries.transformed), written
 * with the attempt that first ran it, so every retry sends the bytes that attempt sent, even
 * after the endpoint's transform was changed or removed.
 */
export interface TransformStore {
  /** Writes each delivery's output (deliveries deleted meanwhile are skipped), in one transaction. */
  saveTransformed(items: Array<{ deliveryId: string; request: TransformedRequest }>): Promise<void>;
  /** The stored output of a delivery, null if none (never transformed, or no transform). */
  getTransformed(deliveryId: string): Promise<TransformedRequest | null>;
}
