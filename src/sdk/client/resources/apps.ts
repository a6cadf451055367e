import type { PageList } from '../pages.js';
import type { Transport } from '../transport.js';
import type { App, AppCreate, AppPatch, PageQuery } from '../types.js';

/** Apps: one per customer of your product. `app` arguments take the id or your uid. */
export class Apps {
  constructor(private readonly t: Transport) {}

  create(body: AppCreate): Promise<App> {
    return this.t.call('createApp', { body });
  }
  list(query: PageQuery = {}): PageList<App> {
    return this.t.list<App>('listApps', {}, query);
  }
  get(app: string): Promise<App> {
    return this.t.call('getApp', { params: { app }, retry: true });
  }
  update(app: string, body: AppPatch): Promise<App> {
    return this.t.call('updateApp', { params: { app }, body });
  }
  delete(app: string): Promise<void> {
    return this.t.call('deleteApp', { params: { app } });
  }
}
