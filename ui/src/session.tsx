import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Capability, Session } from './api/resources';

export interface Scope {
  session: Session;
  /** the app on screen: the portal's own, or the one the operator picked */
  app: string;
  /** the path prefix of app screens: '' in the portal, '/apps/<app>' in the console */
  base: string;
  can: (c: Capability) => boolean;
  portal: boolean;
}

export const SessionContext = createContext<Session | null>(null);
export const ScopeContext = createContext<Scope | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

export function useScope(): Scope {
  const s = useContext(ScopeContext);
  if (!s) throw new Error('no app in scope');
  return s;
}

/** What the session may do; an operator may do everything. The server checks again. */
export function capable(session: Session, c: Capability): boolean {
  return session.kind === 'operator' || session.capabilities.includes(c);
}
