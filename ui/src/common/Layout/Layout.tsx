import type { ComponentChildren } from 'preact';
import { useContext } from 'preact/hooks';
import type { PortalTheme } from '../../api/resources';
import { Link, usePath } from '../../router';
import { ScopeContext } from '../../session';

export interface NavItem {
  to: string;
  label: string;
}

/** The page frame: brand, navigation, and the screen. */
export function Layout(props: {
  theme: PortalTheme;
  nav: NavItem[];
  subtitle?: string;
  onSignOut?: () => void;
  children: ComponentChildren;
}) {
  const path = usePath();
  const scope = useContext(ScopeContext);
  const name = props.theme.productName ?? (scope?.portal ? 'Webhooks' : 'Herald');
  const current = (to: string) => path === to || (to !== '/' && path.startsWith(`${to}/`));
  // The most specific nav item that matches is the current one.
  const active = props.nav.filter((n) => current(n.to)).sort((a, b) => b.to.length - a.to.length)[0]?.to;
  return (
    <div class="shell">
      <a class="skip" href="#main">Skip to content</a>
      <header class="topbar">
        <div class="brand">
          {props.theme.logoUrl ? <img class="logo" src={props.theme.logoUrl} alt={name} referrerpolicy="no-referrer" /> : <span class="logo-mark" aria-hidden="true">{name.slice(0, 1).toUpperCase()}</span>}
          <span class="brand-name">{name}</span>
          {props.subtitle && <span class="brand-sub">{props.subtitle}</span>}
        </div>
        <nav class="nav" aria-label="Main">
          {props.nav.map((n) => (
            <Link key={n.to} to={n.to} class={n.to === active ? 'nav-link active' : 'nav-link'} aria-current={n.to === active ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
          {props.onSignOut && (
            <button type="button" class="btn btn-ghost nav-signout" onClick={props.onSignOut}>
              Sign out
            </button>
          )}
        </nav>
      </header>
      <main id="main" class="content" tabIndex={-1}>
        {props.children}
      </main>
    </div>
  );
}

/** A screen's title row, with its main actions on the right. */
export function PageHeader({ title, back, children }: { title: ComponentChildren; back?: { to: string; label: string }; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <div class="page-title">
        {back && (
          <Link class="back" to={back.to}>
            ← {back.label}
          </Link>
        )}
        <h1>{title}</h1>
      </div>
      {children && <div class="page-actions">{children}</div>}
    </div>
  );
}
