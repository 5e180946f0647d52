/**
 * One studio websocket: authenticates with its first message, reconnects with backoff, and
 * hands every event to `onEvent`. Apps have no session cookie, so the first message is
 * `{"type": "auth", "access": <JWT>}` (host) or `{"type": "auth", "token": <invite>}` (guest).
 *
 * Close codes from the server: 4401 not authenticated, 4403 not allowed, 4404 no such
 * stream, 4410 session ended (removed / revoked): those are final, no reconnect.
 */
import type { StudioEvent } from './events';

export type SocketAuth = { access: () => Promise<string | null> } | { token: string };
export type SocketStatus = 'connecting' | 'open' | 'closed';

const FINAL_CODES = new Set([4401, 4403, 4404, 4410]);
const MAX_BACKOFF_MS = 10_000;

export interface StudioSocketOptions {
  url: string;
  auth: SocketAuth;
  onEvent: (event: StudioEvent) => void;
  onStatus?: (status: SocketStatus, code?: number) => void;
  /** For tests: the WebSocket constructor. */
  WebSocketImpl?: typeof WebSocket;
}

export class StudioSocket {
  private ws: WebSocket | null = null;
  private attempts = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly options: StudioSocketOptions) {}

  start(): void {
    this.stopped = false;
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) {
      clearTimeout(this.retry);
      this.retry = null;
    }
    this.ws?.close(1000);
    this.ws = null;
  }

  send(message: Record<string, unknown>): void {
    if (this.ws?.readyState === 1) {
      this.ws.send(JSON.stringify(message));
    }
  }

  private async authMessage(): Promise<Record<string, unknown> | null> {
    const { auth } = this.options;
    if ('token' in auth) {
      return { type: 'auth', token: auth.token };
    }
    const access = await auth.access();
    return access ? { type: 'auth', access } : null;
  }

  private async open(): Promise<void> {
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    this.options.onStatus?.('connecting');
    const auth = await this.authMessage();
    if (this.stopped) {
      return;
    }
    if (!auth) {
      this.options.onStatus?.('closed', 4401);
      return;
    }
    const ws = new Impl(this.options.url);
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify(auth));
    };
    ws.onmessage = (message: MessageEvent) => {
      let event: StudioEvent;
      try {
        event = JSON.parse(String(message.data)) as StudioEvent;
      } catch {
        return;
      }
      if (event.type === 'state.full') {
        this.attempts = 0;
        this.options.onStatus?.('open');
      }
      this.options.onEvent(event);
    };
    ws.onclose = (close: CloseEvent) => {
      if (this.ws !== ws) {
        return;
      }
      this.ws = null;
      this.options.onStatus?.('closed', close.code);
      if (this.stopped || FINAL_CODES.has(close.code)) {
        return;
      }
      this.attempts += 1;
      const delay = Math.min(500 * 2 ** (this.attempts - 1), MAX_BACKOFF_MS);
      this.retry = setTimeout(() => void this.open(), delay);
    };
  }
}
