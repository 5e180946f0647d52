import { Platform } from 'react-native';

/**
 * The StreamUs server the sign-in screen suggests: EXPO_PUBLIC_STREAMUS_URL when the app was
 * built with one, else the page's own origin on the web build, else nothing (the user types it).
 */
export function defaultServerUrl(): string {
  const configured = process.env.EXPO_PUBLIC_STREAMUS_URL;
  if (configured) {
    return normaliseServerUrl(configured);
  }
  if (Platform.OS === 'web' && typeof window !== 'undefined' && window.location) {
    return window.location.origin;
  }
  return '';
}

/** `studio.example.com/` → `https://studio.example.com`; keeps http:// for local servers. */
export function normaliseServerUrl(raw: string): string {
  let url = raw.trim();
  if (!url) {
    return '';
  }
  if (!/^https?:\/\//i.test(url)) {
    url = `https://${url}`;
  }
  return url.replace(/\/+$/, '');
}

/** The studio websocket of a stream on `server`. */
export function studioSocketUrl(server: string, streamId: number): string {
  return `${server.replace(/^http/i, 'ws')}/ws/studio/${streamId}/`;
}
