/**
 * JWT helpers: when does an access token expire, and when to refresh it.
 *
 * The server's access tokens live five minutes (SIMPLE_JWT ACCESS_TOKEN_LIFETIME); the app
 * refreshes a minute before expiry so requests never race the clock, and at once if the
 * token is already close to (or past) its end.
 */

/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS = 60_000;
/** Never schedule refreshes closer together than this (a clock far off must not spin). */
export const MIN_REFRESH_DELAY_MS = 5_000;

function base64UrlDecode(part: string): string {
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  if (typeof atob === 'function') {
    return atob(padded);
  }
  // Hermes has atob since RN 0.74; this is for very old engines only.
  throw new Error('No base64 decoder');
}

/** The `exp` claim of a JWT, in milliseconds since the epoch; null when there is none. */
export function tokenExpiry(token: string): number | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) {
    return null;
  }
  try {
    const payload = JSON.parse(base64UrlDecode(parts[1])) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** How long to wait before refreshing `access`, seen at `now` (ms). */
export function refreshDelay(access: string, now: number): number {
  const expiry = tokenExpiry(access);
  if (expiry === null) {
    return MIN_REFRESH_DELAY_MS;
  }
  return Math.max(expiry - REFRESH_MARGIN_MS - now, MIN_REFRESH_DELAY_MS);
}

/** True when `access` should be refreshed before it is used at `now`. */
export function needsRefresh(access: string, now: number): boolean {
  const expiry = tokenExpiry(access);
  return expiry === null || expiry - now < REFRESH_MARGIN_MS;
}
