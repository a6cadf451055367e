/**
 * The calls of the session lifecycle and the few the screens share, all through the typed
 * client, with the names the screens use.
 */
import type { Capability, PortalTheme, Session, TestEvent, Timeseries, TimeseriesQuery } from 'herald-webhooks/client';
import { herald } from './client';

export type { Capability, PortalTheme, Session, Timeseries };
export type TimeseriesPoint = Timeseries['points'][number];

export const sessions = {
  /** operator sign-in with the API key (sent only here, never stored) */
  signIn: (apiKey: string) => herald.sessions.create({ apiKey }),
  /** the portal's one-time token from the link, exchanged for a session cookie */
  exchange: (portalToken: string) => herald.sessions.create({ portalToken }),
  current: () => herald.sessions.get(),
  signOut: () => herald.sessions.delete(),
};

export const endpointExtras = {
  timeseries: (app: string, ep: string, query: TimeseriesQuery = {}) => herald.endpoints.timeseries(app, ep, query),
  sendTest: (app: string, ep: string, body?: TestEvent) => herald.endpoints.test(app, ep, body),
};
