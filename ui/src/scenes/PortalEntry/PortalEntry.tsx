/** What the portal shows without a session: the link was used, expired, or never valid. */
export function LinkExpired({ kind }: { kind: 'used' | 'none' }) {
  return (
    <main class="center-screen" id="main">
      <section class="card stack expired" aria-labelledby="expired-h">
        <h1 id="expired-h">{kind === 'used' ? 'This link has expired or was already used' : 'Your session has ended'}</h1>
        <p>
          {kind === 'used'
            ? 'For your security, each webhooks link works only once and only for a short time.'
            : 'For your security, webhook sessions end after a while.'}{' '}
          Go back to your account and open the webhooks page again to get a new link.
        </p>
      </section>
    </main>
  );
}

/** Takes `#token=…` from the URL and removes it at once, so it stays in no history entry, bookmark or screenshot. */
export function takeTokenFromUrl(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!location.hash) return null;
  history.replaceState(history.state, '', location.pathname + location.search);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}
