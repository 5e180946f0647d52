/**
 * Which server a guest's invite belongs to.
 *
 * - `https://studio.example.com/join/<token>/` (a universal / app link): that server.
 * - `streamus://join/<token>?server=https://studio.example.com`: the server named in the link.
 * - `streamus://join/<token>`: the app's default server (EXPO_PUBLIC_STREAMUS_URL, the web
 *   build's origin) or the last one used.
 */
import { normaliseServerUrl } from '@/config';

export function serverForJoin({
  param,
  linkUrl,
  fallback,
}: {
  param?: string | string[] | null;
  linkUrl?: string | null;
  fallback: string;
}): string {
  const named = Array.isArray(param) ? param[0] : param;
  if (named) {
    return normaliseServerUrl(named);
  }
  if (linkUrl && /^https?:\/\//i.test(linkUrl) && /\/join\/[^/]+/.test(linkUrl)) {
    const match = /^(https?:\/\/[^/?#]+)/i.exec(linkUrl);
    if (match?.[1]) {
      return match[1];
    }
  }
  return normaliseServerUrl(fallback);
}
