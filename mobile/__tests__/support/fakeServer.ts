/**
 * A StreamUs server in the test process: `fetch` answered from a table of routes, every
 * request recorded (method, path, headers, JSON body). The screens use the real API client.
 */
export interface Recorded {
  method: string;
  path: string;
  headers: Headers;
  body: unknown;
}

type Handler = (request: Recorded, params: string[]) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>;

export const SERVER = 'https://studio.example.com';

export function fakeServer(routes: Record<string, Handler>) {
  const requests: Recorded[] = [];
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern] = key.split(' ') as [string, string];
    const regex = new RegExp(`^${pattern.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
    return { method, regex, handler };
  });
  const fetchMock = jest.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(request.url);
    const text = await request.text();
    const recorded: Recorded = {
      method: request.method,
      path: url.pathname + url.search,
      headers: request.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(recorded);
    for (const route of table) {
      const match = route.regex.exec(url.pathname);
      if (match && route.method === request.method) {
        const { status = 200, body } = await route.handler(recorded, match.slice(1));
        return new Response(body === undefined ? null : JSON.stringify(body), {
          status,
          headers: { 'Content-Type': 'application/json' },
        });
      }
    }
    return new Response(JSON.stringify({ detail: 'Not found.' }), { status: 404 });
  });
  globalThis.fetch = fetchMock as unknown as typeof fetch;
  return {
    requests,
    fetch: fetchMock,
    find: (method: string, path: string) => requests.filter((r) => r.method === method && r.path.startsWith(path)),
  };
}

/** A JWT whose payload has `exp` (seconds); the signature is not checked by the app. */
export function jwt(expSeconds: number, sub = '1'): string {
  const encode = (value: object) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ exp: expSeconds, user_id: sub })}.signature`;
}

export const USER = { id: 1, email: 'host@example.com', username: 'host', tier: 'free' };

/** Sockets the app opened, to drive the studio's events from a test. */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.();
    }, 0);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  /** The server sends an event. */
  emit(event: object) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  static last(): FakeWebSocket {
    const socket = FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    if (!socket) {
      throw new Error('no socket opened');
    }
    return socket;
  }
}

