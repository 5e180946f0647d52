// What every script that talks to the server shares: the CSRF token, a readable error, a pause.

// Django's CSRF token: the cookie, or the page's hx-headers (base.html) when the cookie is HttpOnly.
export function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  try {
    return JSON.parse(document.body?.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

// The messages of a DRF error body ({"field": ["…"]} or {"detail": "…"}), or the status text.
export async function errorText(response) {
  try {
    const body = await response.json();
    return Object.values(body).flat().join(" ") || response.statusText;
  } catch {
    return response.statusText;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
