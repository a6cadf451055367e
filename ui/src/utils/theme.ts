/** An app's portal branding (herald-webhooks/client's PortalTheme). */
export interface PortalTheme {
  productName?: string;
  primaryColor?: string;
  logoUrl?: string;
  darkMode?: boolean;
}

/** Only #rgb and #rrggbb: anything else could be more than a colour in a CSS value. */
export function validColor(value: unknown): value is string {
  return typeof value === 'string' && /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(value);
}

/** Only https: URLs for the logo (no javascript:, data: or http: mixed content). */
export function validLogoUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 2048) return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** The valid parts of a theme; the rest is dropped. */
export function cleanTheme(t: Partial<Record<keyof PortalTheme, unknown>> | null | undefined): PortalTheme {
  const out: PortalTheme = {};
  if (!t) return out;
  if (typeof t.productName === 'string' && t.productName.trim()) out.productName = t.productName.trim().slice(0, 80);
  if (validColor(t.primaryColor)) out.primaryColor = t.primaryColor;
  if (validLogoUrl(t.logoUrl)) out.logoUrl = t.logoUrl;
  if (typeof t.darkMode === 'boolean') out.darkMode = t.darkMode;
  return out;
}

/**
 * What a portal link may set: colour and dark mode only. The product name and logo come only from the app's own
 * settings (session.theme): a URL anyone can craft must not rebrand the portal on a trusted origin (phishing) or
 * load an image from anywhere (a tracking pixel).
 */
export type LinkTheme = Pick<PortalTheme, 'primaryColor' | 'darkMode'>;

/** The parts of `t` a link may set, valid ones only (also for what an older tab kept in sessionStorage). */
export function linkTheme(t: Partial<Record<keyof PortalTheme, unknown>> | null | undefined): LinkTheme {
  const { primaryColor, darkMode } = cleanTheme(t);
  const out: LinkTheme = {};
  if (primaryColor !== undefined) out.primaryColor = primaryColor;
  if (darkMode !== undefined) out.darkMode = darkMode;
  return out;
}

/** ?primaryColor=%23…&dark=1 of the portal URL; any productName/logoUrl there is ignored. */
export function themeFromQuery(search: string): LinkTheme {
  const q = new URLSearchParams(search);
  const dark = q.get('dark') ?? q.get('darkMode');
  return linkTheme({
    primaryColor: q.get('primaryColor') ?? undefined,
    darkMode: dark === null ? undefined : dark === '1' || dark === 'true',
  });
}

/** The app's theme with the link's colour and dark mode on top (never its name or logo). */
export function mergeTheme(base: PortalTheme | null | undefined, override: LinkTheme): PortalTheme {
  return { ...cleanTheme(base), ...linkTheme(override) };
}

function rgb(hex: string): [number, number, number] {
  const h = hex.length === 4 ? hex.slice(1).split('').map((c) => c + c).join('') : hex.slice(1);
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

/** Black or white text, whichever reads better on `hex` (WCAG relative luminance). */
export function contrastText(hex: string): '#000000' | '#ffffff' {
  const [r, g, b] = rgb(hex).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? '#000000' : '#ffffff';
}

/** Applies a theme through CSS custom properties (CSSOM, which the CSP allows; no inline style). */
export function applyTheme(theme: PortalTheme, root: HTMLElement = document.documentElement): void {
  if (theme.primaryColor) {
    root.style.setProperty('--primary', theme.primaryColor);
    root.style.setProperty('--primary-text', contrastText(theme.primaryColor));
  } else {
    root.style.removeProperty('--primary');
    root.style.removeProperty('--primary-text');
  }
  if (theme.darkMode === undefined) delete root.dataset.theme;
  else root.dataset.theme = theme.darkMode ? 'dark' : 'light';
  if (theme.productName) document.title = `${theme.productName} · Webhooks`;
}
