import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { herald, setCsrfToken, whenUnauthorized } from './api/client';
import { sessions, type PortalTheme, type Session } from './api/resources';
import { useAsync } from './api/useAsync';
import { Layout, type NavItem } from './common/Layout/Layout';
import { ErrorMessage, Loading } from './common/Notice/Notice';
import { match, navigate, usePath } from './router';
import { Apps } from './scenes/Apps/Apps';
import { Deliveries } from './scenes/Deliveries/Deliveries';
import { Delivery } from './scenes/Delivery/Delivery';
import { Endpoint } from './scenes/Endpoint/Endpoint';
import { EndpointForm } from './scenes/EndpointForm/EndpointForm';
import { Endpoints } from './scenes/Endpoints/Endpoints';
import { EventCatalogue } from './scenes/EventCatalogue/EventCatalogue';
import { NotFound } from './scenes/NotFound/NotFound';
import { LinkExpired } from './scenes/PortalEntry/PortalEntry';
import { SignIn } from './scenes/SignIn/SignIn';
import { Source } from './scenes/Source/Source';
import { Sources } from './scenes/Sources/Sources';
import { capable, ScopeContext, SessionContext, type Scope } from './session';

/** The screens of one app, the same in the portal and (under /apps/<app>) in the console. */
function appScreen(rest: string): VNode | null {
  let m: Record<string, string> | null;
  if (rest === '/' || rest === '' || rest === '/endpoints') return <Endpoints />;
  if (rest === '/endpoints/new') return <EndpointForm />;
  if ((m = match('/endpoints/:ep/edit', rest))) return <EndpointForm ep={m.ep} />;
  if ((m = match('/endpoints/:ep', rest))) return <Endpoint key={m.ep} ep={m.ep} />;
  if (rest === '/deliveries') return <Deliveries />;
  if ((m = match('/deliveries/:id', rest))) return <Delivery key={m.id} id={m.id} />;
  if (rest === '/event-types') return <EventCatalogue />;
  return null;
}

const appNav = (base: string): NavItem[] => [
  { to: `${base}/endpoints`, label: 'Endpoints' },
  { to: `${base}/deliveries`, label: 'Delivery log' },
  { to: `${base}/event-types`, label: 'Event catalogue' },
];

// ── customer portal ─────────────────────────────────────────────────────────
export type PortalBoot = { session: Session; theme: PortalTheme } | 'used' | 'none';

export function PortalApp({ boot }: { boot: Promise<PortalBoot> }) {
  const [state, setState] = useState<PortalBoot | { error: unknown } | undefined>();
  useEffect(() => {
    boot.then(setState, (error) => setState({ error }));
    whenUnauthorized(() => setState('none'));
  }, []);
  const path = usePath();
  if (state === undefined) return <main class="center-screen" id="main"><Loading /></main>;
  if (state === 'used' || state === 'none') return <LinkExpired kind={state} />;
  if ('error' in state) return <main class="center-screen" id="main"><ErrorMessage error={state.error} onRetry={() => location.reload()} /></main>;
  const { session, theme } = state;
  const app = session.app;
  if (!app) return <LinkExpired kind="none" />;
  const scope: Scope = { session, app: app.id, base: '', can: (c) => capable(session, c), portal: true };
  const screen = appScreen(path);
  return (
    <SessionContext.Provider value={session}>
      <ScopeContext.Provider value={scope}>
        <Layout theme={theme} nav={appNav('')} subtitle={app.name}>
          {screen ?? <NotFound home="/" />}
        </Layout>
      </ScopeContext.Provider>
    </SessionContext.Provider>
  );
}

// ── operator console ────────────────────────────────────────────────────────
export function ConsoleApp() {
  const [session, setSession] = useState<Session | null | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  useEffect(() => {
    sessions.current().then(
      (s) => {
        if (s.kind !== 'operator') return setSession(null);
        setCsrfToken(s.csrfToken);
        setSession(s);
      },
      () => setSession(null),
    );
    whenUnauthorized(() => {
      setCsrfToken('');
      setNotice('Your session has ended. Sign in again.');
      setSession(null);
    });
  }, []);
  if (session === undefined) return <main class="center-screen" id="main"><Loading /></main>;
  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          setCsrfToken(s.csrfToken);
          setNotice(undefined);
          setSession(s);
        }}
      />
    );
  }
  const signOut = async () => {
    try {
      await sessions.signOut();
    } catch {
      /* the cookie is gone or the server is: signed out either way */
    }
    setCsrfToken('');
    setSession(null);
    navigate('/', { replace: true });
  };
  return (
    <SessionContext.Provider value={session}>
      <ConsoleScreens session={session} onSignOut={signOut} />
    </SessionContext.Provider>
  );
}

function ConsoleScreens({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const path = usePath();
  const scoped = /^\/apps\/([^/]+)(\/.*)?$/.exec(path);
  const top: NavItem[] = [
    { to: '/', label: 'Apps' },
    { to: '/sources', label: 'Sources' },
  ];
  if (scoped) {
    let appKey: string;
    try {
      appKey = decodeURIComponent(scoped[1]);
    } catch {
      return <Layout theme={{}} nav={top} onSignOut={onSignOut}><NotFound home="/" /></Layout>;
    }
    return <AppConsole key={appKey} appKey={appKey} rest={scoped[2] ?? '/'} session={session} top={top} onSignOut={onSignOut} />;
  }
  let m: Record<string, string> | null;
  let screen: VNode;
  if (path === '/' || path === '/apps') screen = <Apps />;
  else if (path === '/sources') screen = <Sources />;
  else if ((m = match('/sources/:id', path))) screen = <Source key={m.id} id={m.id} />;
  else if (path === '/event-types') screen = <EventCatalogue />;
  else screen = <NotFound home="/" />;
  return (
    <Layout theme={{}} nav={[...top, { to: '/event-types', label: 'Event catalogue' }]} onSignOut={onSignOut}>
      {screen}
    </Layout>
  );
}

/** The console inside one app. */
function AppConsole(props: { appKey: string; rest: string; session: Session; top: NavItem[]; onSignOut: () => void }) {
  const app = useAsync(() => herald.apps.get(props.appKey), [props.appKey]);
  const base = `/apps/${encodeURIComponent(props.appKey)}`;
  const scope: Scope = { session: props.session, app: app.data?.id ?? props.appKey, base, can: (c) => capable(props.session, c), portal: false };
  const screen = appScreen(props.rest);
  return (
    <ScopeContext.Provider value={scope}>
      <Layout theme={{}} nav={[...props.top, ...appNav(base)]} subtitle={app.data?.name} onSignOut={props.onSignOut}>
        {app.error !== undefined ? <ErrorMessage error={app.error} /> : app.loading ? <Loading /> : screen ?? <NotFound home={`${base}/endpoints`} />}
      </Layout>
    </ScopeContext.Provider>
  );
}
