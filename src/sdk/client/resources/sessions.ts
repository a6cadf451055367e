import type { Transport } from '../transport.js';
import type { Session, SessionCreate } from '../types.js';

/**
 * Browser sessions, for a web page talking to Herald with a session cookie (the console and
 * the portal do): create one with the API key or a portal token, read it back after a reload
 * (with its CSRF token, to send as x-herald-csrf), end it.
 */
export class Sessions {
  constructor(private readonly t: Transport) {}

  create(body: SessionCreate): Promise<Session> {
    return this.t.call('createSession', { body });
  }
  get(): Promise<Session> {
    return this.t.call('getSession', { retry: true });
  }
  delete(): Promise<void> {
    return this.t.call('deleteSession', {});
  }
}
