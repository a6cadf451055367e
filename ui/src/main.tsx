import { render } from 'preact';
import { HeraldApiError, setCsrfToken } from './api/client';
import { sessions, type Session } from './api/resources';
import { ConsoleApp, PortalApp, type PortalBoot } from './App';
import { FACE } from './router';
import { takeTokenFromUrl } from './scenes/PortalEntry/PortalEntry';
import './styles.css';
import { applyTheme, linkTheme, mergeTheme, themeFromQuery, type LinkTheme } from './utils/theme';

const root = document.getElementById('app')!;

if (FACE === 'portal') {
  // First thing: the one-time token leaves the address bar (and so history) before anything else runs.
  const token = takeTokenFromUrl();
  // The URL's colour and dark mode (?primaryColor=…&dark=1) win over the app's; kept for this tab's later reloads.
  // Name and logo never come from the URL (anyone can craft a link): only from the app's settings (session.theme).
  const KEY = 'herald.portal.theme';
  let override: LinkTheme = themeFromQuery(location.search);
  try {
    if (Object.keys(override).length > 0) sessionStorage.setItem(KEY, JSON.stringify(override));
    else override = linkTheme(JSON.parse(sessionStorage.getItem(KEY) ?? 'null'));
  } catch {
    /* storage disabled (third-party iframe): the URL's theme only */
  }
  applyTheme(override);
  const boot: Promise<PortalBoot> = (async () => {
    let session: Session;
    try {
      session = token ? await sessions.exchange(token) : await sessions.current();
    } catch (err) {
      if (err instanceof HeraldApiError && (err.status === 401 || err.status === 403)) return token ? 'used' : 'none';
      throw err;
    }
    if (session.kind !== 'portal') return 'none';
    setCsrfToken(session.csrfToken);
    const theme = mergeTheme(session.theme, override);
    applyTheme(theme);
    return { session, theme };
  })();
  render(<PortalApp boot={boot} />, root);
} else {
  render(<ConsoleApp />, root);
}
