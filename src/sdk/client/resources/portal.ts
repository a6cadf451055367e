import type { Transport } from '../transport.js';
import type { PortalAccess, PortalAccessCreate } from '../types.js';

/** The customer portal: one-time links for your customers, and ending their sessions. */
export class Portal {
  constructor(private readonly t: Transport) {}

  /** a link (`url`) to send your customer to or embed in an <iframe>; its token is good for one sign-in */
  createAccess(app: string, body: PortalAccessCreate = {}): Promise<PortalAccess> {
    return this.t.call('createPortalAccess', { params: { app }, body });
  }
  /** ends the app's portal sessions and voids its unused links (only those of `sessionId`, if given) */
  expireAll(app: string, body: { sessionId?: string } = {}): Promise<{ expired: number }> {
    return this.t.call('expirePortalAccess', { params: { app }, body });
  }
}
